"""``python -m benchmarks.grading``: how fast the grader grades, against plain nbgrader.

One class of honest submissions of a week (the reference, a partial answer and the
untouched stub, each submitted by several students) is graded three times in the same
run: by ``grader`` with 1 and with 2 workers (jail, hidden checks, statuses), and by plain
``nbgrader autograde`` (no jail, no hidden checks, serial). Prints seconds per notebook
and notebooks per minute. Plain nbgrader is faster and also unsafe: the comparison shows
what the safety costs.

Options: --week week4_attention  --copies 2
"""
from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
KINDS = ("perfect", "partial", "untouched")


def make_class(root: Path, week: str, copies: int) -> list[str]:
    from grader.course import Course
    from grader.generate import generate
    from grader.sample_class import build_class

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


def time_grader(root: Path, week: str, students: list[str], workers: int) -> float:
    from grader.course import Course
    from grader.parallel import grade_many

    started = time.monotonic()
    outcomes = grade_many(Course.at(root), week, students, workers=workers, progress=False)
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


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.grading", description=__doc__.split("\n\n")[0])
    parser.add_argument("--week", default="week4_attention")
    parser.add_argument("--copies", type=int, default=2, help="students per kind of submission")
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench-grading-") as tmp:
        for label, workers in (("grader, 1 worker", 1), ("grader, 2 workers", 2), ("plain nbgrader autograde", None)):
            root = Path(tmp) / label.replace(" ", "-").replace(",", "")
            students = make_class(root, args.week, args.copies)
            seconds = time_plain_nbgrader(root, args.week) if workers is None else time_grader(root, args.week, students, workers)
            rows.append((label, len(students), seconds))
            print(f"  {label}: {seconds:.1f} s for {len(students)} notebooks", flush=True)
    print(f"\n{args.week}, {args.copies} students each submitting {', '.join(KINDS)}\n")
    print("| grading | notebooks | seconds | s / notebook | notebooks / min |")
    print("|---|---:|---:|---:|---:|")
    for label, n, seconds in rows:
        print(f"| {label} | {n} | {seconds:.1f} | {seconds / n:.1f} | {60 * n / seconds:.1f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
