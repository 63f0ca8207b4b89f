"""``make demo``: a term's work in a few minutes, on a throwaway course.

1. copy ``solutions/`` into a demo course root and release it (``generate``);
2. submit a sample class (``grader.demo.sample_class``): every sample for the spotlight
   week, and the reference, the untouched stub, a partial answer and two hostile
   notebooks for every other week; the spotlight week arrives as an LMS would hand it
   over (a Canvas-style zip) and goes in through ``grader collect``;
3. autograde everything in parallel, print the grade table with statuses;
4. write feedback HTML and ``grades.csv``, and print the time per notebook.
"""
from __future__ import annotations

import os
import shutil
import time
import zipfile
from pathlib import Path

from ..course.collect import collect, report
from ..course import Course
from ..course.export import format_table, rows, write_csv
from ..course.feedback import generate_feedback
from ..course.generate import generate
from ..pipeline.batch import grade_many
from .sample_class import build_class

SPOTLIGHT = "week4_attention"
OTHER_WEEKS_SAMPLES = ["perfect", "untouched", "partial", "patches-numpy", "broken-json"]
MARKER = ".grader-demo"
REPO = Path(__file__).resolve().parents[2]


def prepare(directory: Path) -> Course:
    """A fresh demo course root at ``directory`` with the repository's solutions."""
    if directory.exists():
        if not (directory / MARKER).exists():
            raise SystemExit(f"{directory} exists and is not a demo folder; choose another --dir")
        shutil.rmtree(directory)
    shutil.copytree(REPO / "solutions", directory / "solutions")
    shutil.copy(REPO / "nbgrader_config.py", directory)  # formgrader and plain nbgrader see the same course
    (directory / MARKER).write_text("made by `python -m grader demo`; safe to delete\n")
    return Course.at(directory)


def as_canvas_download(course: Course, week: str, students: list[str], archive: Path) -> Path:
    """Move ``students``' submissions of ``week`` into a zip named the way Canvas names a
    download (``<login>_<user id>_<submission id>_<file>``; the first student resubmitted, so
    Canvas added ``-1`` to the file name). Returns ``archive``."""
    with zipfile.ZipFile(archive, "w") as zf:
        for number, student in enumerate(students):
            folder = course.submitted(student, week)
            for path in sorted(folder.glob("*")):
                name = path.name.replace(".ipynb", "-1.ipynb") if number == 0 else path.name
                zf.write(path, f"{student}_{1000 + number}_{5000 + number}_{name}")
            shutil.rmtree(folder)
    return archive


DEMO_CELL_TIMEOUT = "60"  # the references' cells need well under this; hostile loops end sooner than at 120 s


def run_demo(directory: Path, workers: int = 2) -> int:
    os.environ.setdefault("GRADER_CELL_TIMEOUT", DEMO_CELL_TIMEOUT)
    started = time.monotonic()
    course = prepare(Path(directory).resolve())
    print(f"1. Releasing {', '.join(course.weeks())} into {course.release}")
    generate(course)

    print("2. Submitting a sample class")
    plan = {}
    for week in course.weeks():
        only = None if week == SPOTLIGHT else OTHER_WEEKS_SAMPLES
        plan[week] = [s.student for s in build_class(course, week, only=only)]
        print(f"   {week}: {len(plan[week])} submissions")
    download = as_canvas_download(course, SPOTLIGHT, plan[SPOTLIGHT], course.root / f"{SPOTLIGHT}-canvas.zip")
    print(f"   {SPOTLIGHT} came as an LMS download; python -m grader collect {SPOTLIGHT} {download.name}:")
    print("   " + report(collect(course, SPOTLIGHT, download)).replace("\n", "\n   "))
    total = sum(len(v) for v in plan.values())

    print(f"3. Autograding {total} notebooks with {workers} workers ({os.environ['GRADER_CELL_TIMEOUT']} s per cell)")
    grading_started = time.monotonic()
    for week, students in plan.items():
        grade_many(course, week, students, workers=workers)
    grading = time.monotonic() - grading_started
    table = rows(course)
    print(format_table(table))

    print("4. Feedback and export")
    pages = 0
    for week in plan:
        pages += sum(str(v).endswith(".html") for v in generate_feedback(course, week).values())
    csv_path = course.root / "grades.csv"
    write_csv(course, csv_path)
    print(f"   {pages} feedback pages under {course.root / 'feedback'}; grades in {csv_path}")

    per_notebook = grading / max(total, 1)
    graded_seconds = [r["seconds"] for r in table if r["status"] == "graded"]
    print(f"Grading took {grading:.0f} s for {total} notebooks: {per_notebook:.1f} s per notebook with {workers} workers "
          f"({60 / per_notebook:.1f} notebooks per minute); a graded notebook took {sum(graded_seconds) / max(len(graded_seconds), 1):.1f} s "
          f"on its own. Whole demo: {time.monotonic() - started:.0f} s.")
    print(f"Hand-grade the written answers: cd {course.root} && {REPO / '.venv' / 'bin' / 'jupyter'} lab, "
          "then Nbgrader > Formgrader > Manual Grading.")
    return 0
