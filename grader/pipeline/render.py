"""``python -m grader render WEEK``: run graded notebooks for their outputs, scores untouched.

For submissions graded with ``--no-render`` (or whose rendering failed, to try again with a
longer ``GRADER_CELL_TIMEOUT``): nbgrader's autograde step runs again with rendering on,
which rebuilds the autograded notebook with its outputs; the hidden checks' scores recorded
in the status are then written back and shown again, exactly as they were. The hidden
checks do not run again, so no score can change.
"""
from __future__ import annotations

from . import status as status_store
from ..course import Course
from ..course.deadlines import assign_late_penalty
from ..nbgrader_setup.gradebook import write_hidden_scores
from .hidden_checks import CellScore
from .precheck import NotGradable
from .stage_server import close_all


def needs_render(outcome: status_store.Outcome) -> bool:
    return outcome.status == status_store.GRADED and not outcome.rendered


def render_submission(course: Course, week: str, student: str) -> status_store.Outcome:
    """Render one graded submission; returns its updated outcome (its warnings say how it went)."""
    from .annotate import annotate
    from .autograde import run_autograde_step

    outcome = status_store.load(course, week, student)
    if outcome is None or outcome.status != status_store.GRADED:
        raise NotGradable("not_graded", f"{student} has no graded {week}: run `python -m grader autograde {week} "
                          f"--student {student}` first")
    scores = {gid: CellScore(**cell) for gid, cell in outcome.cells.items()}
    kept = [w for w in outcome.warnings if not w.startswith(("rendering:", "not rendered:"))]
    step = run_autograde_step(course, week, student, render=True)
    write_hidden_scores(course, week, student, scores)  # autograde reset them: the recorded scores, unchanged
    assign_late_penalty(course, week, student)
    annotate(course.autograded(student, week) / course.notebook_name(week), scores)
    outcome.rendered = step.rendered
    outcome.warnings = ([step.warning] if step.warning else []) + kept
    status_store.save(course, outcome)
    return outcome


def render(course: Course, week: str, students=None) -> dict:
    """Render ``students`` (default: every graded, not yet rendered submission); ``{student: what happened}``."""
    course.check_week(week)
    outcomes = {o.student: o for o in status_store.load_all(course, week)}
    targets = students or sorted(s for s, o in outcomes.items() if needs_render(o))
    done = {}
    try:
        for student in targets:
            try:
                outcome = render_submission(course, week, student)
                done[student] = "rendered" if outcome.rendered else (outcome.warnings[0] if outcome.warnings else "not rendered")
            except NotGradable as exc:
                done[student] = exc.reason
    finally:
        close_all()  # the stage server this thread used
    return done
