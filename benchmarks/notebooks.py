"""``python -m benchmarks --notebooks``: each solution notebook top to bottom, its time and memory.

Every ``solutions/<week>/<name>.ipynb`` runs in a fresh Jupyter kernel (nbclient, as a
student's "Restart and run all"), in its own child process so that the kernel's peak
resident memory can be read exactly: the child reaps the kernel, and
``getrusage(RUSAGE_CHILDREN).ru_maxrss`` is then the largest peak RSS of a process it
waited for, the kernel. Goals (issue 18): under 30 s and under 1 GiB on 2 cores. The
kernel's CPU seconds (user + system, all its threads) are reported too: on a machine that
other programs load, wall time swings by several times while CPU time hardly moves.

``--grader WEEK`` also grades that week's reference submission with the grader (one
worker, jail and hidden checks included) and reports the peak resident memory of the
grader's whole process tree (``tree_memory.TreeMemory``, sampled from ``/proc``: rusage
does not see the jails under the stage servers) and of its largest process.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

from .tree_memory import TreeMemory

REPO = Path(__file__).resolve().parents[1]
GOAL_SECONDS, GOAL_MIB = 30.0, 1024.0


def _peak_mib(who) -> float:
    return resource.getrusage(who).ru_maxrss / 1024.0  # Linux reports KiB


def run_one(path: Path) -> dict:
    """Execute ``path`` in a fresh kernel (in THIS process); wall time, kernel peak RSS, first error."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=600, allow_errors=True, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent.resolve())}},
                            extra_arguments=["--IPKernelApp.log_level=ERROR"])
    started = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - started
    errors = [f"{o.get('ename')}: {o.get('evalue')}"[:200] for c in nb.cells if c.cell_type == "code"
              for o in c.get("outputs", []) if o.get("output_type") == "error"]
    slowest = max(((_cell_seconds(c), k) for k, c in enumerate(nb.cells) if c.cell_type == "code"), default=(0.0, -1))
    name = str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)  # the kernel, reaped by nbclient's shutdown
    return {"notebook": name, "seconds": seconds, "kernel_cpu_seconds": usage.ru_utime + usage.ru_stime,
            "kernel_peak_mib": usage.ru_maxrss / 1024.0, "errors": errors,
            "slowest_cell": {"index": slowest[1], "seconds": slowest[0],
                             "first_line": nb.cells[slowest[1]].source.strip().splitlines()[0][:60] if slowest[1] >= 0 else ""}}


def _cell_seconds(cell) -> float:
    """A cell's run time from the timestamps nbclient records (``metadata.execution``)."""
    from datetime import datetime

    stamps = cell.get("metadata", {}).get("execution", {})
    try:
        start, end = (datetime.fromisoformat(stamps[k].replace("Z", "+00:00"))
                      for k in ("iopub.status.busy", "iopub.status.idle"))
    except (KeyError, ValueError):
        return 0.0
    return (end - start).total_seconds()


def grade_one(week: str) -> dict:
    """Grade ``week``'s reference submission with the grader (one worker); peaks of it and its children."""
    import tempfile

    from grader.course import Course
    from grader.course.generate import generate
    from grader.pipeline.batch import grade_many
    from grader.demo.sample_class import build_class
    import shutil

    with tempfile.TemporaryDirectory(prefix="bench-memory-") as tmp:
        root = Path(tmp)
        shutil.copytree(REPO / "solutions" / week, root / "solutions" / week)
        course = Course.at(root)
        generate(course, [week])
        build_class(course, week, only=["perfect"])
        before = _peak_mib(resource.RUSAGE_SELF)
        started = time.perf_counter()
        with TreeMemory() as memory:
            outcome = grade_many(course, week, ["perfect"], workers=1, progress=False)[0]
        seconds = time.perf_counter() - started
    return {"week": week, "status": outcome.get("status"), "seconds": seconds,
            "grader_peak_mib": _peak_mib(resource.RUSAGE_SELF), "grader_peak_before_mib": before,
            "tree_peak_mib": memory.peak_total_mib, "largest_process_peak_mib": memory.peak_process_mib}


def _child(args: list) -> dict:
    proc = subprocess.run([sys.executable, "-m", "benchmarks.notebooks", *args], cwd=REPO,
                          capture_output=True, text=True)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise SystemExit(f"benchmarks.notebooks {' '.join(args)} failed:\n{proc.stderr[-3000:]}")
    return json.loads(lines[-1])


def _verdict(ok: bool) -> str:
    return "yes" if ok else "**no**"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks --notebooks", description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default="", help="run only the notebooks whose path contains this text")
    parser.add_argument("--grader", default="", metavar="WEEK", help="also grade WEEK's reference and report memory")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # internal: run one notebook in this process
    parser.add_argument("--grade-one", help=argparse.SUPPRESS)  # internal: grade one week in this process
    args = parser.parse_args(argv)
    if args.one:
        print(json.dumps(run_one(Path(args.one).resolve())), flush=True)
        return 0
    if args.grade_one:
        print(json.dumps(grade_one(args.grade_one)), flush=True)
        return 0

    paths = sorted(p for p in (REPO / "solutions").glob("*/*.ipynb") if args.only in str(p.relative_to(REPO)))
    if not paths:
        parser.error(f"no solution notebook path contains {args.only!r}")
    rows = []
    for path in paths:
        print(f"  running {path.relative_to(REPO)} ...", file=sys.stderr, flush=True)
        rows.append(_child(["--one", str(path)]))
        r = rows[-1]  # as it finishes, so that an interrupted run still says what it measured
        print(f"    {r['seconds']:.1f} s, kernel CPU {r['kernel_cpu_seconds']:.1f} s, peak {r['kernel_peak_mib']:.0f} MiB, "
              f"load average {os.getloadavg()[0]:.1f}", file=sys.stderr, flush=True)
    lines = [f"load average {os.getloadavg()[0]:.1f} after the run",
             "| notebook | seconds | kernel CPU s | kernel peak RSS (MiB) | under 30 s | under 1 GiB | slowest cell | errors |",
             "|---|---:|---:|---:|---|---|---|---|"]
    for r in rows:
        cell = r["slowest_cell"]
        lines.append(f"| {r['notebook']} | {r['seconds']:.1f} | {r['kernel_cpu_seconds']:.1f} | {r['kernel_peak_mib']:.0f} | "
                     f"{_verdict(r['seconds'] <= GOAL_SECONDS)} | {_verdict(r['kernel_peak_mib'] <= GOAL_MIB)} | "
                     f"#{cell['index']} `{cell['first_line']}` {cell['seconds']:.1f} s | "
                     f"{'; '.join(r['errors'])[:120] or 'none'} |")
    print("\n".join(lines))
    if args.grader:
        print(f"  grading {args.grader}'s reference ...", file=sys.stderr, flush=True)
        g = _child(["--grade-one", args.grader])
        print(f"\ngrader, one worker, {g['week']} reference: status {g['status']}, {g['seconds']:.1f} s; "
              f"grader process peak {g['grader_peak_mib']:.0f} MiB ({g['grader_peak_before_mib']:.0f} before grading), "
              f"largest process in its tree {g['largest_process_peak_mib']:.0f} MiB; the whole tree (sum of PSS, "
              f"sampled) peaked at {g['tree_peak_mib']:.0f} MiB: what one worker needs, at most "
              f"({_verdict(g['tree_peak_mib'] <= GOAL_MIB)} under 1 GiB)")
    return 1 if any(r["errors"] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
