"""``python -m benchmarks``: utils against PyTorch on this CPU, one markdown table.

For every thread count, each side (utils, torch) runs in its own fresh process with
OPENBLAS_NUM_THREADS = OMP_NUM_THREADS = MKL_NUM_THREADS = n (and torch.set_num_threads(n))
and with glibc's allocator pinned (MALLOC_MMAP_THRESHOLD_, MALLOC_TRIM_THRESHOLD_), so
large temporaries are not page-faulted in again on every call. Both processes live
for the whole run and are asked for one case at a time, alternately, ``--rounds`` times,
so that both sides of a ratio run in the same minute (the machine's load changes by the
minute); a cell is the median over rounds of each round's median time.

Options: --threads 1,2  --rounds 2  --budget 2.0 (s per case and side)  --scale 1.0  --clock wall|cpu
--only SUBSTRING (cases whose name contains it)  --skip SUBSTRING (leave those out)  --write (also write benchmarks/results.md).

--device cuda: utils on CuPy against torch on CUDA (same cases), plus utils on CuPy against
utils on NumPy for the ViT training step (goal: 10x). Without a GPU it says so and exits 0.
--notebooks [--only WEEK] [--grader WEEK]: run each solution notebook in a fresh kernel and
report its wall time and the kernel's peak memory (see ``benchmarks.notebooks``).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

from .cases import CASES
from .report import cpu_line, table

ALLOCATOR = {"MALLOC_MMAP_THRESHOLD_": "33554432", "MALLOC_TRIM_THRESHOLD_": "1073741824"}
RESULTS = Path(__file__).with_name("results.md")


def _worker_env(threads: int, device: str) -> dict:
    env = dict(os.environ, **ALLOCATOR)
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        env[var] = str(threads)
    env["UTILS_DEVICE"] = device  # never "auto": a CPU table must not run utils on a GPU
    return env


class Worker:
    """One long-lived ``benchmarks.worker`` process: a side, a thread count and a device."""

    def __init__(self, side: str, threads: int, args, device: str = None):
        self.side, self.threads, self.device = side, threads, device or args.device
        cmd = [sys.executable, "-m", "benchmarks.worker", "--side", side, "--threads", str(threads),
               "--device", self.device, "--scale", str(args.scale), "--budget", str(args.budget), "--clock", args.clock]
        self.proc = subprocess.Popen(cmd, cwd=Path(__file__).resolve().parents[1], env=_worker_env(threads, self.device),
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        first = self._read()
        self.info, self.missing = first.get("info", {}), first.get("missing")

    def _read(self) -> dict:
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit(f"benchmark worker ({self.side}, {self.threads} threads) died; see its error above")
        return json.loads(line)

    def time(self, case: int) -> float:
        """Median milliseconds of one step of ``case`` (the worker builds it on first use)."""
        self.proc.stdin.write(f"{case}\n")
        self.proc.stdin.flush()
        msg = self._read()
        print(f"  [{self.threads} thr, {self.device}] {self.side:5s} {CASES[case].name}: {msg['median_ms']:.2f} ms "
              f"(median of {msg['repeats']})", file=sys.stderr, flush=True)
        return msg["median_ms"]

    def close(self) -> None:
        self.proc.stdin.close()
        if self.proc.wait() != 0:
            raise SystemExit(f"benchmark worker ({self.side}, {self.threads} threads) failed")


def _vit_cupy_over_numpy(args, threads: int) -> str:
    """One line: the ViT training step with utils on NumPy and on CuPy (goal: CuPy 10x faster)."""
    vit = [i for i, c in enumerate(CASES) if c.name.startswith("ViT training step")]
    if not vit:
        return "ViT step, utils on CuPy vs NumPy: not measured"
    measured = {}
    for device in ("cuda", "cpu"):
        worker = Worker("utils", threads, args, device=device)
        measured[device] = worker.time(vit[0])
        worker.close()
    gpu, cpu = measured["cuda"], measured["cpu"]
    verdict = "meets" if cpu / gpu >= 10 else "misses"
    return (f"ViT step, utils: NumPy ({threads} threads) {cpu:.2f} ms, CuPy {gpu:.2f} ms: {cpu / gpu:.1f}x "
            f"({verdict} the 10x goal)")


def _gpu_missing() -> str:
    """Why the CUDA comparison cannot run here, or "" when it can."""
    from utils.backend import cupy_available

    if not cupy_available():
        return "CuPy cannot reach a GPU (cupy.is_available() is False)"
    try:
        import torch
    except ImportError:
        return "torch is not installed"
    if not torch.cuda.is_available():
        return "torch.cuda.is_available() is False"
    return ""


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if "--notebooks" in argv:
        from .notebooks import main as notebooks_main

        return notebooks_main([a for a in argv if a != "--notebooks"])
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", default="1,2", help="comma-separated thread counts (default 1,2)")
    parser.add_argument("--rounds", type=int, default=2, help="alternating utils/torch process rounds (default 2)")
    parser.add_argument("--budget", type=float, default=2.0, help="seconds of timed repeats per case and side")
    parser.add_argument("--scale", type=float, default=1.0, help="shrink batches (1.0 = the stated sizes)")
    parser.add_argument("--only", default="", help="run only the cases whose name contains this text")
    parser.add_argument("--skip", default=None, help="leave out the cases whose name contains this text")
    parser.add_argument("--write", action="store_true", help=f"also write the table to {RESULTS.name}")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                        help="cuda: utils on CuPy against torch on CUDA (skips, exit 0, without a GPU)")
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                        help="cpu: time each step by the process's CPU time (steadier on a busy machine; "
                             "with 2 threads it also counts threads waiting for each other)")
    parser.add_argument("--notebooks", action="store_true", help="run the solution notebooks instead (see above)")
    args = parser.parse_args(argv)
    if args.device == "cuda":
        missing_gpu = _gpu_missing()
        if missing_gpu:
            print(f"--device cuda skipped: {missing_gpu}. Nothing was measured.")
            return 0

    threads = [int(t) for t in args.threads.split(",")]
    cases = [i for i, c in enumerate(CASES) if args.only.lower() in c.name.lower()
             and not (args.skip and args.skip.lower() in c.name.lower())]
    if not cases:
        parser.error(f"no case name contains {args.only!r}")

    started = time.time()
    times = {}  # (case, threads, side) -> [per-round medians]
    infos, pools, missing = {}, {}, None
    load_before = os.getloadavg()
    for n in threads:
        workers = {"utils": Worker("utils", n, args)}
        torch_worker = Worker("torch", n, args)
        missing = missing or torch_worker.missing
        if torch_worker.missing:
            torch_worker.close()
        else:
            workers["torch"] = torch_worker
        for side, worker in workers.items():
            infos.setdefault(side, worker.info)
            pools.setdefault(side, set()).update(worker.info.get("pools", []))
        for c in cases:  # both sides of a case within the same minute, alternating which goes first
            for r in range(args.rounds):
                for side in (("utils", "torch") if r % 2 == 0 else ("torch", "utils")):
                    if side in workers:
                        times.setdefault((c, n, side), []).append(workers[side].time(c))
        for worker in workers.values():
            worker.close()

    def cell(case, n, side):
        vals = times.get((case, n, side))
        return statistics.median(vals) if vals else None

    rows = [(CASES[c].name, n, cell(c, n, "utils"), cell(c, n, "torch")) for n in threads for c in cases]
    utils_info, torch_info = infos.get("utils", {}), infos.get("torch", {})
    header = [
        cpu_line() + f"; load average {load_before[0]:.1f} before and {os.getloadavg()[0]:.1f} after the run",
        f"utils: NumPy {utils_info.get('numpy', '?')}; thread pools seen: " + "; ".join(sorted(pools.get("utils", []))),
        f"torch: {torch_info['torch']} (intra-op threads set per run)" if "torch" in torch_info else f"torch: MISSING - {missing}",
        "Each side in its own process, same thread count (OPENBLAS/OMP/MKL_NUM_THREADS and torch.set_num_threads), "
        "with MALLOC_MMAP_THRESHOLD_=33554432 MALLOC_TRIM_THRESHOLD_=1073741824 for both sides.",
        f"float32, forward + backward (all gradients); MHA with need_weights=False on both sides. Both sides of a case "
        f"run back to back in long-lived processes; {args.clock} clock; cell = median over {args.rounds} alternating rounds of the median of repeats (about {args.budget:g} s per case); scale={args.scale:g}; "
        f"{time.time() - started:.0f} s in all.",
    ]
    if args.device == "cuda":
        header.insert(0, f"DEVICE cuda: utils on CuPy against torch on CUDA ({utils_info.get('gpu', '?')}); "
                         "every step ends with a device synchronize on both sides.")
    text = "\n".join(f"- {h}" for h in header) + "\n\n" + table(rows) + "\n"
    if args.device == "cuda":
        text += _vit_cupy_over_numpy(args, threads[-1]) + "\n"
    print(text)
    if missing:
        print(f"NOTE: {missing}: only the utils timings were measured.")
    if args.write:
        RESULTS.write_text("# utils vs PyTorch (CPU)\n\nGenerated by `python -m benchmarks --write`.\n\n" + text)
        print(f"wrote {RESULTS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
