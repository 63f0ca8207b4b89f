"""``TreeMemory``: the peak resident memory of a process and everything it starts, by sampling.

``getrusage(RUSAGE_CHILDREN)`` only sees descendants that were waited for through an unbroken
chain of parents. The grader's hidden-check workers run in jails under long-lived stage
servers that are stopped, not waited through, so their peaks never reach the grader's
rusage. This meter instead reads ``/proc`` every ``interval`` seconds: every process whose
chain of parents leads to ``root`` (jails included: they are ordinary processes on the host),
and the sum of their proportional set sizes (``Pss`` in ``smaps_rollup``: a page shared by k
processes counts 1/k in each, so the sum is what the tree really occupies; ``VmRSS`` where
``smaps_rollup`` cannot be read, which overcounts shared libraries). The largest single
process's ``VmRSS`` is reported too.
"""
from __future__ import annotations

import os
import threading


def _children_by_parent() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as fh:
                    ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
            kids.setdefault(ppid, []).append(int(name))
    return kids


def _field_mib(path: str, field: str) -> float | None:
    try:
        with open(path) as fh:
            for line in fh:
                if line.startswith(field):
                    return int(line.split()[1]) / 1024.0
    except (OSError, ValueError):
        pass
    return None  # gone, unreadable, or a kernel thread


def process_mib(pid: int) -> tuple[float, float]:
    """``(RSS, PSS)`` of ``pid`` in MiB; PSS falls back to RSS where ``smaps_rollup`` is unreadable."""
    rss = _field_mib(f"/proc/{pid}/status", "VmRSS:") or 0.0
    pss = _field_mib(f"/proc/{pid}/smaps_rollup", "Pss:")
    return rss, rss if pss is None else pss


def tree_mib(root: int) -> dict[int, tuple[float, float]]:
    """``{pid: (RSS, PSS) in MiB}`` of ``root`` and all its descendants now."""
    kids, out, stack = _children_by_parent(), {}, [root]
    while stack:
        pid = stack.pop()
        out[pid] = process_mib(pid)
        stack.extend(kids.get(pid, ()))
    return out


class TreeMemory:
    """``with TreeMemory() as m: ...``; then ``m.peak_total_mib`` (largest sum of PSS over the tree at
    one sample) and ``m.peak_process_mib`` (largest single process's RSS at any sample)."""

    def __init__(self, root: int | None = None, interval: float = 0.05):
        self.root, self.interval = root or os.getpid(), interval
        self.peak_total_mib = self.peak_process_mib = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def sample(self) -> None:
        sizes = tree_mib(self.root).values()
        self.peak_total_mib = max(self.peak_total_mib, sum(pss for _, pss in sizes))
        self.peak_process_mib = max(self.peak_process_mib, max((rss for rss, _ in sizes), default=0.0))

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()

    def __enter__(self) -> "TreeMemory":
        self.sample()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()
