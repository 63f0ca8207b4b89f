"""Due dates, submission times and late penalties, set in one place: ``nbgrader_config.py``.

The instructor writes, in the course root's ``nbgrader_config.py`` (the file plain
``nbgrader`` commands read too)::

    c.DueDates.due = {"week4_attention": "2026-03-06 17:00:00 Europe/Berlin"}
    c.AssignLatePenalties.plugin_class = "grader.course.deadlines.SubtractPerHour"
    c.SubtractPerHour.points_per_hour = 1.0

Due dates are copied into nbgrader's gradebook (``Assignment.duedate``) by ``grader generate``
and before every ``grader autograde``, so formgrader, ``nbgrader collect --before-duedate`` and
nbgrader's own lateness arithmetic (``SubmittedAssignment.total_seconds_late``) use them. The
policy is nbgrader's late-submission plugin (``AssignLatePenalties.plugin_class``): its default,
``LateSubmissionPlugin``, marks late work without a penalty (or zeroes it with
``c.LateSubmissionPlugin.penalty_method = "zero"``); ``SubtractPerHour`` below takes points per
started hour.

Submission times come from the ``timestamp.txt`` that nbgrader's exchange writes and
``nbgrader collect`` copies into ``submitted/<student>/<week>/``. An LMS download gives no time,
but Canvas marks late files ``_late_``: ``grader collect`` records that here
(``.grader/lms_late/<week>/<student>``), so the row says "late (per the LMS)"; without a time
no penalty can be computed, and the row says so.

nbgrader applies the plugin inside its autograde, before the hidden checks have scored anything
(its penalty is capped at the score at that moment, 0). ``assign_late_penalty`` therefore runs the
same plugin again once the hidden checks' points are in the gradebook.
"""
from __future__ import annotations

import html
import math
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from nbgrader.plugins import LateSubmissionPlugin
from traitlets import Dict, Float
from traitlets.config import Configurable

from ..nbgrader_setup.config import course_config
from . import Course, GraderError
from ..nbgrader_setup.gradebook import locked_gradebook


class DueDates(Configurable):
    """``c.DueDates.due``: week -> due date, in any form nbgrader's ``parse_utc`` reads."""

    due = Dict(help="Due date per week, e.g. {'week4_attention': '2026-03-06 17:00:00 Europe/Berlin'}; "
                    "a date without a zone is UTC").tag(config=True)


class SubtractPerHour(LateSubmissionPlugin):
    """Late penalty: ``points_per_hour`` for every started hour after the due date."""

    points_per_hour = Float(1.0, min=0.0, help="Points taken per started hour late").tag(config=True)

    def late_submission_penalty(self, student_id: str, score: float, total_seconds_late: float):
        if total_seconds_late <= 0:
            return None
        return math.ceil(total_seconds_late / 3600) * self.points_per_hour


@dataclass(frozen=True)
class Lateness:
    """What is known about one submission's time: all times UTC, naive as nbgrader keeps them."""

    submitted: datetime | None   # from timestamp.txt (None: the LMS gave no time)
    due: datetime | None         # the gradebook's due date
    seconds_late: float          # 0 when on time or unknown
    penalty: float               # points taken (0: none)
    lms_late: bool = False       # the LMS marked the file late

    @property
    def late(self) -> bool:
        return self.seconds_late > 0 or self.lms_late

    def text(self) -> str:
        """A short phrase for the grade table: ``""`` when on time."""
        if self.seconds_late > 0:
            return f"late {_duration(self.seconds_late)}" + (f", -{self.penalty:g} pt" if self.penalty else "")
        if self.lms_late:
            return "late (LMS; no penalty)"
        return ""


def _duration(seconds: float) -> str:
    seconds = int(math.ceil(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    return (f"{days}d " if days else "") + f"{hours}:{minutes:02d}:{secs:02d}"


def due_date(course: Course, week: str) -> datetime | None:
    """The week's due date from the course configuration, as naive UTC (None if unset)."""
    from nbgrader.utils import parse_utc

    text = DueDates(config=course_config(course.root)).due.get(week)
    if not text:
        return None
    try:
        return parse_utc(str(text)).replace(tzinfo=None)
    except Exception as exc:
        raise GraderError(f"c.DueDates.due[{week!r}] = {text!r} in nbgrader_config.py is not a date: {exc}") from None


def sync_due_date(course: Course, week: str) -> datetime | None:
    """Write the configured due date into the gradebook; returns the gradebook's due date.

    Without a configured one the gradebook's (set in formgrader, say) is left as it is.
    """
    due = due_date(course, week)
    with locked_gradebook(course) as gb:
        assignment = gb.update_or_create_assignment(week, **({"duedate": due} if due else {}))
        return assignment.duedate


def late_plugin(course: Course):
    """The configured late-submission plugin, built as nbgrader's ``AssignLatePenalties`` builds it."""
    from nbgrader.preprocessors import AssignLatePenalties

    step = AssignLatePenalties(config=course_config(course.root))
    step.init_plugin()
    return step.plugin_inst


def assign_late_penalty(course: Course, week: str, student: str) -> float:
    """Apply the late policy to the submission's final scores; returns the penalty in points.

    Per notebook, as nbgrader does: the plugin's penalty, kept within ``[0, score]``.
    """
    from nbgrader.api import MissingEntry

    plugin = late_plugin(course)
    with locked_gradebook(course) as gb:
        try:
            submission = gb.find_submission(week, student)
        except MissingEntry:
            return 0.0
        seconds = submission.total_seconds_late
        total = 0.0
        for notebook in submission.notebooks:
            penalty = plugin.late_submission_penalty(student, notebook.score, seconds) if seconds > 0 else None
            if penalty is not None:
                penalty = min(max(float(penalty), 0.0), float(notebook.score))
                total += penalty
            notebook.late_submission_penalty = penalty
        gb.db.commit()
        return total


def lateness(course: Course, week: str, student: str) -> Lateness:
    """The submission's time, due date, lateness and penalty, as the gradebook holds them."""
    from nbgrader.api import MissingEntry

    lms = lms_late_path(course, week, student).exists()
    with locked_gradebook(course) as gb:
        try:
            submission = gb.find_submission(week, student)
        except MissingEntry:
            return Lateness(None, None, 0.0, 0.0, lms)
        return Lateness(submission.timestamp, submission.duedate, float(submission.total_seconds_late),
                        float(submission.late_submission_penalty or 0.0), lms)


# ---------------------------------------------------------------------------- the LMS's mark
def lms_late_path(course: Course, week: str, student: str) -> Path:
    return course.state / "lms_late" / week / student


def record_lms_late(course: Course, week: str, student: str, late: bool) -> None:
    """Remember (or forget) that the LMS marked this student's file of ``week`` late."""
    path = lms_late_path(course, week, student)
    if late:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("marked late by the LMS\n")
    else:
        path.unlink(missing_ok=True)


# ---------------------------------------------------------------------------- the feedback page
MARK = "<!-- grader: lateness -->"


def feedback_note(info: Lateness) -> str:
    """An HTML paragraph for the top of the feedback page ("" when there is nothing to say)."""
    def when(t):
        return t.strftime("%Y-%m-%d %H:%M:%S UTC")

    if info.seconds_late > 0:
        text = (f"Submitted {when(info.submitted)}, {_duration(info.seconds_late)} (h:mm:ss) after the due date "
                f"{when(info.due)}. Late penalty: {info.penalty:g} point(s).")
    elif info.lms_late:
        text = "Marked late by the LMS; no penalty was computed."
    elif info.submitted and info.due:
        text = f"Submitted {when(info.submitted)}, on time (due {when(info.due)})."
    else:
        return ""
    colour = "#cf222e" if info.late else "#1a7f37"
    return f"{MARK}<p class='grader-lateness' style='color:{colour}'><b>{html.escape(text)}</b></p>"


def stamp_feedback(page: Path, info: Lateness) -> None:
    """Put the lateness note at the top of an nbgrader feedback page (once)."""
    note = feedback_note(info)
    text = page.read_text(errors="replace")
    if not note or MARK in text:
        return
    at = text.find(">", text.find("<body")) + 1 if "<body" in text else 0
    mode = page.stat().st_mode
    page.chmod(mode | 0o200)  # an ordinary user cannot write a read-only page
    try:
        page.write_text(text[:at] + note + text[at:])
    finally:
        page.chmod(mode)


def late_columns(info: Lateness) -> dict:
    """The grade table's lateness columns: submitted and due (UTC, "" if unknown), late, late_penalty."""
    def when(t):
        return t.strftime("%Y-%m-%d %H:%M:%S") if t else ""

    return {"submitted": when(info.submitted), "due": when(info.due), "late": info.text(), "late_penalty": info.penalty}
