"""Feedback HTML per student through nbgrader, checked for leaks before it is kept.

The autograded notebook already shows, in each hidden-test cell, the checks' names,
pass/fail and student-facing messages (``grader.pipeline.annotate``); nbgrader renders
it with the scores from the gradebook. Before a file is kept we make sure it contains
no hidden-check source: a page that does is deleted and reported.
"""
from __future__ import annotations

import re
from pathlib import Path

from . import status as status_store
from .course import Course, GraderError
from .deadlines import lateness, stamp_feedback
from .hidden import checks_dir


def hidden_check_fingerprints(week: str) -> list[str]:
    """Distinctive lines of the week's hidden checks (test names and asserted lines)."""
    prints = []
    for path in sorted(checks_dir(week).rglob("*.py")):
        for line in path.read_text().splitlines():
            line = line.strip()
            if re.match(r"(def test_\w+|assert .{12,})", line):
                prints.append(line.split("(")[0] if line.startswith("def ") else line)
    return prints


def leaks(html_text: str, fingerprints: list[str]) -> list[str]:
    return [p for p in fingerprints if p in html_text]


def generate_feedback(course: Course, week: str, students=None) -> dict:
    """Write feedback for graded submissions; returns ``{student: path or reason}``."""
    course.check_week(week)
    graded = {o.student for o in status_store.load_all(course, week) if o.status == status_store.GRADED}
    targets = [s for s in (students or sorted(graded))]
    fingerprints = hidden_check_fingerprints(week)
    done = {}
    for student in targets:
        if student not in graded:
            done[student] = "not graded (see the status column of the export)"
            continue
        result = course.api().generate_feedback(week, student, force=True)
        if not result["success"]:
            done[student] = f"nbgrader could not write feedback: {(result.get('error') or '')[-300:]}"
            continue
        pages = sorted(course.feedback_dir(student, week).glob("*.html"))
        late = lateness(course, week, student)
        for page in pages:
            stamp_feedback(page, late)  # submitted when, how late, what penalty
            found = leaks(page.read_text(errors="replace"), fingerprints)
            if found:
                page.unlink()
                raise GraderError(f"feedback for {student} contained hidden-check source ({found[0]!r}); it was deleted")
        done[student] = str(pages[0]) if pages else "nbgrader wrote no page"
    return done


def feedback_page(course: Course, week: str, student: str) -> Path:
    return course.feedback_dir(student, week) / (Path(course.notebook_name(week)).stem + ".html")
