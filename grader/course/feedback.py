"""Feedback HTML per student through nbgrader, checked for leaks before it is kept.

The autograded notebook already shows, in each hidden-test cell, the checks' names,
pass/fail and student-facing messages (``grader.pipeline.annotate``), and holds the
student's own content made inert (``grader.inert``); nbgrader renders it with the
scores from the gradebook. Before a page is kept we make sure it shows none of the
hidden checks' code: a page that does is deleted and reported as withheld, and the
other students' pages are written all the same.

The guard looks for our code, not for words: a fingerprint is three consecutive lines
of a hidden check's source, none of which appears anywhere a student can read it (the
release notebook, the reference answers). A student who types ``def test_other_sizes``
in an answer therefore trips nothing; a page that shows a check's body does.
"""
from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import nbformat

from ..pipeline import status as status_store
from . import Course
from .deadlines import lateness, stamp_feedback
from ..pipeline.hidden_checks import checks_dir

WINDOW = 3            # consecutive lines of hidden code that make a fingerprint
MIN_LINE = 10         # shorter lines (``else:``, ``return out``) are too common to count
WITHHELD = "withheld"  # how a page the guard deleted is reported


def _normal(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _visible_lines(course: Course, week: str) -> set[str]:
    """Every line a student can read in the week's release and in the reference answers."""
    lines = set()
    for path in (course.release / week / course.notebook_name(week), course.solutions / week / course.notebook_name(week)):
        if path.is_file():
            for cell in nbformat.read(path, as_version=4).cells:
                if "BEGIN HIDDEN TESTS" in cell.source:
                    continue
                lines.update(_normal(line) for line in cell.source.splitlines())
    return lines


def hidden_check_fingerprints(week: str, course: Course | None = None) -> list[str]:
    """Runs of ``WINDOW`` consecutive lines from the week's hidden checks (``test_*.py``),
    whitespace-normalised, that no student-visible line is part of."""
    visible = _visible_lines(course, week) if course else set()
    prints = []
    for path in sorted(checks_dir(week).rglob("test_*.py")):
        lines = [_normal(line) for line in path.read_text().splitlines()]
        lines = [line for line in lines if len(line) >= MIN_LINE and not line.startswith("#")]
        for i in range(len(lines) - WINDOW + 1):
            window = lines[i:i + WINDOW]
            if not any(line in visible for line in window):
                prints.append(" ".join(window))
    return prints


class _Text(HTMLParser):
    """The text a browser would show (entities decoded, tags and highlighting spans gone)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts = []

    def handle_data(self, data):
        self.parts.append(data)


def page_text(html_text: str) -> str:
    parser = _Text()
    parser.feed(html_text)
    parser.close()
    return _normal("".join(parser.parts))


def leaks(html_text: str, fingerprints: list[str]) -> list[str]:
    """The fingerprints the page shows."""
    text = page_text(html_text)
    return [p for p in fingerprints if p in text]


def generate_feedback(course: Course, week: str, students=None) -> dict:
    """Write feedback for graded submissions; returns ``{student: page path or what happened instead}``.

    One student's problem (nbgrader failing, a page withheld by the leak guard) is
    reported for that student; everybody else's pages are still written.
    """
    course.check_week(week)
    outcomes = {o.student: o for o in status_store.load_all(course, week) if o.status == status_store.GRADED}
    graded = set(outcomes)
    targets = [s for s in (students or sorted(graded))]
    fingerprints = hidden_check_fingerprints(week, course)
    done = {}
    for student in targets:
        if student not in graded:
            done[student] = "not graded (see the status column of the export)"
            continue
        result = course.api().generate_feedback(week, student, force=True)
        if not result["success"]:
            done[student] = f"nbgrader could not write feedback: {(result.get('error') or '')[-300:]}"
            continue
        pages, withheld = [], []
        late = lateness(course, week, student)
        for page in sorted(course.feedback_dir(student, week).glob("*.html")):
            stamp_feedback(page, late)  # submitted when, how late, what penalty
            stamp_warnings(page, outcomes[student].warnings)  # rendering failed or skipped: points unaffected
            found = leaks(page.read_text(errors="replace"), fingerprints)
            if found:
                page.unlink()
                withheld.append(f"{page.name} showed hidden-check code ({found[0][:60]!r}...)")
            else:
                pages.append(page)
        if withheld:
            done[student] = f"{WITHHELD}: {'; '.join(withheld)}; the page was deleted, please report it"
        else:
            done[student] = str(pages[0]) if pages else "nbgrader wrote no page"
    return done


WARNINGS_MARK = "<!-- grader: warnings -->"


def student_warning(text: str) -> str:
    """A row's warning as the student reads it: the ``[instructor: ...]`` part left out."""
    return re.sub(r"\s*\[instructor:[^\]]*\]", "", text).strip()


def stamp_warnings(page: Path, warnings: list) -> None:
    """Put the submission's warnings at the top of its feedback page (once)."""
    import html

    if not warnings:
        return
    text = page.read_text(errors="replace")
    if WARNINGS_MARK in text:
        return
    items = "".join(f"<li>{html.escape(student_warning(w))}</li>" for w in warnings)
    note = f"{WARNINGS_MARK}<div class='grader-warnings' style='color:#9a6700'><b>Note:</b><ul>{items}</ul></div>"
    at = text.find(">", text.find("<body")) + 1 if "<body" in text else 0
    mode = page.stat().st_mode
    page.chmod(mode | 0o200)
    try:
        page.write_text(text[:at] + note + text[at:])
    finally:
        page.chmod(mode)


def feedback_page(course: Course, week: str, student: str) -> Path:
    return course.feedback_dir(student, week) / (Path(course.notebook_name(week)).stem + ".html")
