"""Time one side (utils or torch) of the benchmark cases in THIS process; print JSON lines.

Started by ``__main__`` in a fresh process whose environment already fixes the thread
count (OPENBLAS/OMP/MKL_NUM_THREADS) and the allocator (MALLOC_*), which must be set
before NumPy or torch is imported. It stays alive and times the case whose index it
reads on stdin, one per line (``--cases`` instead times those and exits), so that the
parent can alternate the two sides case by case: on a shared machine the load changes
by the minute, and a ratio is only fair when both sides ran in the same minute.
Output, one JSON object per line:

    {"info": {...}}                                  libraries and thread pools in use
    {"case": 0, "median_ms": ..., "repeats": ...}    one per case asked for
    {"missing": "torch ..."}                         when the side cannot run
"""
from __future__ import annotations

import argparse
import json
import os
import sys


def _emit(obj) -> None:
    print(json.dumps(obj), flush=True)


def _pools() -> list:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return []
    return [f"{p.get('internal_api')} {p.get('version')} ({p.get('architecture') or p.get('threading_layer')}), "
            f"{p.get('num_threads')} threads" for p in threadpool_info()]


def _synchronizer(side: str, device: str, info: dict):
    """A function that waits for the device (a no-op on the CPU); notes the GPU's name in ``info``."""
    if device != "cuda":
        return lambda: None
    if side == "torch":
        import torch

        info["gpu"] = torch.cuda.get_device_name()
        return torch.cuda.synchronize
    import cupy

    info["gpu"] = cupy.cuda.runtime.getDeviceProperties(0)["name"].decode()
    return cupy.cuda.Device().synchronize


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.worker")
    parser.add_argument("--side", choices=("utils", "torch"), required=True)
    parser.add_argument("--threads", type=int, required=True)
    parser.add_argument("--cases", type=int, nargs="*", default=None, help="time these and exit (else read stdin)")
    parser.add_argument("--scale", type=float, default=1.0)
    parser.add_argument("--budget", type=float, default=2.0, help="seconds of timed repeats per case")
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall")
    args = parser.parse_args(argv)
    os.environ["BENCH_DEVICE"] = args.device  # read by the cases' torch side (utils reads UTILS_DEVICE)

    import numpy as np

    from .cases import CASES
    from .timing import median_ms

    info = {"numpy": np.__version__}
    if args.side == "torch":
        try:
            import torch
        except ImportError as exc:
            _emit({"missing": f"torch is not installed ({exc}); `pip install torch==2.13.0` or `make bench`"})
            return 0
        torch.set_num_threads(args.threads)
        info["torch"] = torch.__version__
        if torch.get_num_threads() != args.threads:
            raise SystemExit(f"torch runs {torch.get_num_threads()} threads, not {args.threads}")
    info["pools"] = _pools()
    sync = _synchronizer(args.side, args.device, info)
    _emit({"info": info})

    built = {}  # the last case asked for: (index, step); a case is built once and timed in every round

    def measure(index: int) -> None:
        if built.get("index") != index:
            built.clear()
            case = CASES[index]
            built.update(index=index, step=getattr(case, f"{args.side}_side")(case.arrays(args.scale))[0])
        step = built["step"]

        def timed():
            step()
            sync()  # GPU work is asynchronous: a step is done when the device is

        _emit({"case": index, **median_ms(timed, warmup=2, budget_s=args.budget, clock=args.clock)})

    if args.cases is not None:
        for index in args.cases:
            measure(index)
        return 0
    for line in sys.stdin:
        if line.strip():
            measure(int(line))
    return 0


if __name__ == "__main__":
    sys.exit(main())
