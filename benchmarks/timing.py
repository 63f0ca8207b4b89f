"""Time a callable: warm up, then take the median of several repeats."""
from __future__ import annotations

import statistics
import time


CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}


def median_ms(fn, warmup: int = 2, budget_s: float = 2.0, min_repeats: int = 5, max_repeats: int = 50,
              clock: str = "wall") -> dict:
    """Call ``fn()`` ``warmup`` times untimed, then time it repeatedly.

    ``clock="wall"`` measures elapsed time; ``clock="cpu"`` the CPU time of this process
    (all its threads), which other programs on a shared machine disturb far less: with
    one thread it is the work done; with more it also counts threads spinning while they
    wait for each other.

    The number of repeats is chosen so the timed part takes about ``budget_s``
    seconds, clamped to ``[min_repeats, max_repeats]``. A long call (a training epoch:
    the first warm-up alone takes more than ``budget_s``) gets one warm-up and three
    timed repeats, so a whole table still finishes in minutes.

    Returns:
        {"median_ms", "min_ms", "max_ms", "repeats"} in milliseconds.
    """
    now = CLOCKS[clock]
    start = time.perf_counter()
    fn()
    if time.perf_counter() - start > budget_s:
        warmup, min_repeats = 1, 3
    for _ in range(warmup - 1):
        fn()
    start = now()
    fn()
    first = now() - start
    repeats = int(min(max_repeats, max(min_repeats, budget_s / max(first, 1e-6))))
    samples = [first]
    for _ in range(repeats - 1):
        start = now()
        fn()
        samples.append(now() - start)
    ms = [1e3 * s for s in samples]
    return {"median_ms": statistics.median(ms), "min_ms": min(ms), "max_ms": max(ms), "repeats": len(ms)}
