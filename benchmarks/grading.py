"""``python -m benchmarks.grading``: how fast the grader grades, against plain nbgrader.

A class of honest submissions of a week (the reference, a partial answer and the
untouched stub, each submitted by ``--copies`` students) is graded by
``grader`` with ``--workers`` workers, rendering the notebooks and with ``--no-render``
(jail, hidden checks, statuses either way), and by plain ``nbgrader autograde`` (no jail,
no hidden checks, serial). Prints seconds per notebook, notebooks per minute and each
row's speed as a multiple of plain nbgrader's, with the machine's load average before and
after (other work on the machine slows every row; compare the ratios, not the seconds).

``--profile`` also times the stages of one submission (``profile_stages``): where a
submission's time goes.

The ways are timed in ``--rounds`` rounds, each on a fresh class and in a rotating order, and a
row's speed-up is the median of its per-round ratios (the per-round ones are shown too, for the
spread): on a shared machine the load changes by the minute, and a ratio is only fair between
runs made close together.

Where the machine allows it (cgroup v1's ``cpuacct`` as root), the CPU time of everything each way
starts, jails included, is measured too (``CpuMeter``): CPU seconds per notebook hardly depend on
what else the machine runs, so they show what each way costs when the wall-clock ratios are
blurred by other work; ``n/a`` elsewhere.

Options: --week week4_attention  --copies 4  --rounds 3  --workers 2  --profile
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
KINDS = ("perfect", "partial", "untouched")
CPUACCT = Path("/sys/fs/cgroup/cpuacct")


class CpuMeter:
    """CPU seconds used by this process and everything it starts from now on, jails included.

    It moves this process into a cgroup of its own in cgroup v1's ``cpuacct`` hierarchy (as root,
    and only where ``cpuacct`` is not mounted together with ``cpu``: the jails' CPU quotas move
    their processes within the ``cpu`` hierarchy and must not take them out of this one).
    ``seconds()`` is None where that cannot be done.
    """

    def __init__(self):
        self.path = None
        try:
            if (CPUACCT / "cpuacct.usage").is_file() and not CPUACCT.is_symlink() and os.geteuid() == 0 \
                    and not (Path("/sys/fs/cgroup/cpu") / "cpuacct.usage").exists():
                own = next(line.split(":", 2)[2].strip() for line in open("/proc/self/cgroup")
                           if "cpuacct" in line.split(":", 2)[1].split(","))
                self.original = CPUACCT / own.lstrip("/")
                path = self.original / f"bench-grading-{os.getpid()}"
                path.mkdir(exist_ok=True)
                (path / "cgroup.procs").write_text(str(os.getpid()))
                self.path = path
        except (OSError, StopIteration):
            self.path = None

    def seconds(self) -> float | None:
        if self.path is None:
            return None
        return int((self.path / "cpuacct.usage").read_text()) / 1e9

    def close(self) -> None:
        if self.path is not None:
            try:
                (self.original / "cgroup.procs").write_text(str(os.getpid()))
                self.path.rmdir()
            except OSError:
                pass
            self.path = None


def make_class(root: Path, week: str, copies: int) -> list[str]:
    from grader.course import Course
    from grader.course.generate import generate
    from grader.demo.sample_class import build_class

    shutil.copytree(REPO / "solutions" / week, root / "solutions" / week)
    course = Course.at(root)
    generate(course, [week])
    build_class(course, week, only=list(KINDS))
    students = []
    for kind in KINDS:
        for i in range(copies):
            name = f"{kind}-{i}"
            shutil.copytree(course.submitted(kind, week), course.submitted(name, week))
            students.append(name)
        shutil.rmtree(course.root / "submitted" / kind)
    return students


def time_grader(root: Path, week: str, students: list[str], workers: int, render: bool = True) -> float:
    from grader.course import Course
    from grader.pipeline.batch import grade_many

    started = time.monotonic()
    outcomes = grade_many(Course.at(root), week, students, workers=workers, progress=False, render=render)
    elapsed = time.monotonic() - started
    bad = [o["student"] for o in outcomes if o["status"] != "graded"]
    if bad:
        raise SystemExit(f"the grader could not grade {bad}")
    return elapsed


def time_plain_nbgrader(root: Path, week: str) -> float:
    """``nbgrader autograde`` with nbgrader's own defaults (its Execute, no sandbox, no hidden checks)."""
    import subprocess
    import sys

    (root / "nbgrader_config.py").write_text(
        "c = get_config()\nc.CourseDirectory.source_directory = 'solutions'\nc.CourseDirectory.release_directory = 'course'\n")
    subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", week, "--force"], cwd=root,
                   check=True, capture_output=True)
    started = time.monotonic()
    subprocess.run([sys.executable, "-m", "nbgrader", "autograde", week, "--force"], cwd=root, capture_output=True)
    return time.monotonic() - started


def profile_stages(root: Path, week: str, student: str, meter: CpuMeter | None = None) -> list[tuple[str, float, float | None]]:
    """``(stage, wall seconds, CPU seconds or None)`` for each stage of grading ``student`` (already
    in the class at ``root``), twice over where a stage server makes the second time cheaper."""
    import nbformat
    from nbclient import NotebookClient

    from grader.pipeline import status as status_store
    from grader.course import Course
    from grader.course.deadlines import assign_late_penalty
    from grader.nbgrader_setup.gradebook import gradebook_totals, write_hidden_scores
    from grader.pipeline.hidden_checks import grade_hidden
    from grader.pipeline.annotate import annotate
    from grader.pipeline.autograde import run_autograde_step
    from grader.pipeline.precheck import precheck
    from grader.sandbox import StudentSession, run_notebook
    from grader.sandbox.jail import run as jail_run
    from grader.sandbox.paths import jail_paths
    from grader.sandbox.warm_caches import font_cache_seed
    from grader.pipeline.stage_server import StageServer, close_all, server_for

    import subprocess
    import sys

    course = Course.at(root)
    notebook = course.autograded(student, week) / course.notebook_name(week)
    out = []

    def timed(label, fn):
        cpu = meter.seconds() if meter else None
        started = time.monotonic()
        value = fn()
        used = meter.seconds() - cpu if cpu is not None else None
        out.append((label, time.monotonic() - started, used))
        return value

    empty = Path(root) / "empty.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")]), empty)
    hide, expose = jail_paths(course.root)
    timed("precheck (read, validate, compare metadata)", lambda: precheck(course, week, student))
    timed("a new Python process importing nbgrader (what a stage server saves per submission)", lambda: subprocess.run(
        [sys.executable, "-c", "import grader, nbgrader.apps"], check=True))
    timed("a new pytest process, collecting the week's checks (saved likewise)", lambda: subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "--collect-only", "-p", "no:cacheprovider", "-o", "addopts=",
         str(REPO / "grader" / "checks" / week)], check=True, capture_output=True))
    timed("jail set-up: an empty command in a fresh jail", lambda: jail_run([sys.executable, "-c", "pass"]))
    timed("matplotlib's font list for the jails, built in a jail (once per process)", font_cache_seed)
    timed("a one-cell notebook executed by nbclient outside any jail (kernel start-up, graceful shutdown: "
          "what plain nbgrader pays per notebook)",
          lambda: NotebookClient(nbformat.read(empty, as_version=4), kernel_name="python3").execute())
    timed("a one-cell notebook rendered in the jail (jail, runner, kernel start-up, kernel killed)",
          lambda: run_notebook(empty, Path(root) / "empty-out.ipynb", hide=hide, expose=expose))
    timed("jail + worker start-up: load the student's answers (one hidden-check session)",
          lambda: StudentSession(["x = 1"]).__enter__().get("x"))
    close_all()
    server = server_for(course)
    timed("stage server start (nbgrader imported, its own font list), autograde --no-render",
          lambda: run_autograde_step(course, week, student, render=False))
    timed("autograde --no-render, warm server", lambda: run_autograde_step(course, week, student, render=False))
    timed("autograde rendering (kernel start-up and every cell, in the jail), warm server", lambda: run_autograde_step(course, week, student))
    timed("hidden checks, first on this server (pytest, checks imported)", lambda: grade_hidden(week, notebook, course.root, server))
    scores, _ = timed("hidden checks, warm server", lambda: grade_hidden(week, notebook, course.root, server))
    timed("gradebook writes (hidden scores, late penalty, totals)", lambda: (
        write_hidden_scores(course, week, student, scores), assign_late_penalty(course, week, student),
        gradebook_totals(course, week, student)))
    timed("annotate the autograded notebook and save the status", lambda: (
        annotate(notebook, scores), status_store.save(course, status_store.load(course, week, student))))
    close_all()
    assert isinstance(server, StageServer)
    return out


def load_average() -> str:
    return " / ".join(f"{x:.1f}" for x in os.getloadavg())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.grading", description=__doc__.split("\n\n")[0])
    parser.add_argument("--week", default="week4_attention")
    parser.add_argument("--copies", type=int, default=4, help="students per kind of submission (3 kinds) in a round")
    parser.add_argument("--rounds", type=int, default=3, help="rounds; each grades a fresh class every way, in turn")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--profile", action="store_true", help="also time the stages of one submission")
    args = parser.parse_args(argv)
    plans = [(f"grader, {args.workers} workers", True), (f"grader, {args.workers} workers, --no-render", False),
             ("plain nbgrader autograde", None)]
    totals = {label: [0, 0.0, 0.0] for label, _ in plans}
    ratios = {label: [] for label, _ in plans}
    loads = [load_average()]
    meter = CpuMeter()
    try:
        with tempfile.TemporaryDirectory(prefix="bench-grading-") as tmp:
            for r in range(args.rounds):
                order = plans[r % len(plans):] + plans[:r % len(plans)]  # each way goes first once in three rounds
                per_notebook = {}
                for label, render in order:
                    root = Path(tmp) / f"round{r}" / label.replace(" ", "-").replace(",", "")
                    students = make_class(root, args.week, args.copies)
                    cpu = meter.seconds()
                    seconds = (time_plain_nbgrader(root, args.week) if render is None
                               else time_grader(root, args.week, students, args.workers, render))
                    used = meter.seconds() - cpu if cpu is not None else None
                    totals[label][0] += len(students)
                    totals[label][1] += seconds
                    totals[label][2] += used or 0.0
                    per_notebook[label] = seconds / len(students)
                    loads.append(load_average())
                    cpu_note = f", {used / len(students):.2f} CPU s per notebook" if used is not None else ""
                    print(f"  round {r + 1}, {label}: {seconds:.1f} s for {len(students)} notebooks{cpu_note} "
                          f"(load {loads[-1]})", flush=True)
                for label, _ in plans:
                    ratios[label].append(per_notebook["plain nbgrader autograde"] / per_notebook[label])
            profile = profile_stages(Path(tmp) / "round0" / plans[0][0].replace(" ", "-").replace(",", ""), args.week,
                                     "perfect-0", meter) if args.profile else []
        measured_cpu = meter.seconds() is not None
    finally:
        meter.close()
    print(f"\n{args.week}: {args.rounds} rounds of {args.copies} students each submitting {', '.join(KINDS)}; "
          f"{os.cpu_count()} CPUs; load average (1/5/15 min) {loads[0]} at the start, {load_average()} at the end\n")
    print("| grading | notebooks | seconds | s / notebook | notebooks / min | vs plain nbgrader (median of rounds) "
          "| per round | CPU s / notebook |")
    print("|---|---:|---:|---:|---:|---:|---|---:|")
    for label, _ in plans:
        n, seconds, cpu = totals[label]
        per_round = ", ".join(f"{x:.2f}" for x in ratios[label])
        cpu_cell = f"{cpu / n:.2f}" if measured_cpu else "n/a"
        print(f"| {label} | {n} | {seconds:.1f} | {seconds / n:.2f} | {60 * n / seconds:.1f} | "
              f"{statistics.median(ratios[label]):.2f}x | {per_round} | {cpu_cell} |")
    if profile:
        print("\nOne submission (the reference), stage by stage (CPU: everything the stage ran, jails included):\n")
        print("| stage | seconds | CPU seconds |")
        print("|---|---:|---:|")
        for label, seconds, cpu in profile:
            print(f"| {label} | {seconds:.2f} | {'n/a' if cpu is None else f'{cpu:.2f}'} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
