"""The machine line and the markdown table that ``python -m benchmarks`` prints."""
from __future__ import annotations

import os
import platform


def cpu_line() -> str:
    """'CPU: <model>, <n> logical CPUs' from /proc/cpuinfo where there is one."""
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"CPU: {model}, {usable} logical CPUs usable"


def _ms(value) -> str:
    return "n/a" if value is None else f"{value:.1f}" if value >= 10 else f"{value:.2f}"


def table(rows) -> str:
    """rows: (case, threads, utils_ms, torch_ms) with None where a side did not run."""
    lines = ["| case | threads | utils ms | torch ms | utils/torch |", "|---|---:|---:|---:|---:|"]
    for case, threads, u, t in rows:
        ratio = f"{u / t:.2f}" if u is not None and t else "n/a"
        lines.append(f"| {case} | {threads} | {_ms(u)} | {_ms(t)} | {ratio} |")
    return "\n".join(lines)
