"""Writing scores into nbgrader's gradebook, safely from many workers.

Writes go through nbgrader's own ``Gradebook`` API, so ``nbgrader export``, formgrader
and feedback see them. A file lock in the course's state folder serialises writers on
one machine; SQLite's busy timeout covers the rest (use PostgreSQL for a cluster).
"""
from __future__ import annotations

import contextlib
import fcntl

from .config import COURSE_ID
from ..course import Course


@contextlib.contextmanager
def locked_gradebook(course: Course):
    """nbgrader's ``Gradebook`` for the course, held under an exclusive file lock."""
    from nbgrader.api import Gradebook

    course.state.mkdir(parents=True, exist_ok=True)
    with open(course.state / "gradebook.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            with Gradebook(course.api().coursedir.db_url, COURSE_ID) as gb:
                yield gb
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def require_released(course: Course, week: str) -> None:
    """``GraderError`` naming the command to run unless nbgrader's gradebook knows ``week``'s notebook.

    nbgrader autogrades against the source cells ``generate`` recorded in the gradebook; a
    fresh clone has ``course/`` but no gradebook, and every submission would fail alike.
    """
    from nbgrader.api import MissingEntry

    from ..course import GraderError

    notebook = course.notebook_name(week)[: -len(".ipynb")]
    with locked_gradebook(course) as gb:
        try:
            known = bool(gb.find_notebook(notebook, week).grade_cells)
        except MissingEntry:
            known = False
    if not known:
        raise GraderError(f"{week} is not in the gradebook ({course.api().coursedir.db_url}) yet, so nbgrader cannot "
                          f"grade it: run `python -m grader generate {week}` (it records the week's cells in the "
                          f"gradebook; course/{week}/ is rewritten the same), then autograde again")


def write_hidden_scores(course: Course, week: str, student: str, scores: dict) -> None:
    """Set ``auto_score`` of each hidden-test cell to the hidden checks' score."""
    notebook = course.notebook_name(week)[: -len(".ipynb")]
    with locked_gradebook(course) as gb:
        for gid, cell in scores.items():
            grade = gb.find_grade(gid, notebook, week, student)
            grade.auto_score = float(cell.score)
            grade.needs_manual_grade = False
        gb.db.commit()


def zero_autograded(course: Course, week: str, student: str) -> None:
    """Fail closed: every autograded cell of a submission that could not be graded scores 0."""
    from nbgrader.api import MissingEntry

    notebook = course.notebook_name(week)[: -len(".ipynb")]
    with locked_gradebook(course) as gb:
        try:
            submission = gb.find_submission_notebook(notebook, week, student)
        except MissingEntry:
            return
        for grade in submission.grades:
            if grade.auto_score is not None:
                grade.auto_score = 0.0
        gb.db.commit()


def gradebook_totals(course: Course, week: str, student: str) -> tuple[float, float, float] | None:
    """``(score, max_score, to_hand_grade)`` of a submission as nbgrader computes it, or None if absent.

    ``to_hand_grade`` is the points of cells still waiting for a human in formgrader.
    """
    from nbgrader.api import MissingEntry

    with locked_gradebook(course) as gb:
        try:
            submission = gb.find_submission(week, student)
        except MissingEntry:
            return None
        pending = sum(g.max_score for nb in submission.notebooks for g in nb.grades if g.needs_manual_grade)
        return float(submission.score), float(submission.max_score), float(pending)
