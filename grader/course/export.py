"""The grade table: one row per submission, with its status beside its score.

Scores come from nbgrader's gradebook (so manual grades from formgrader count); the
status comes from ``grader.pipeline.status``. A submission that could not be graded shows
``not_gradable`` and its reason, so it never passes for a real zero; ``warnings`` holds what
never changes a score (the notebook could not be rendered, a check hit a process limit). A
status record whose submission folder has since been deleted shows status ``stale``. Reasons can carry
a student's text: the terminal table escapes control characters and the CSV neutralises
cells a spreadsheet would run as formulas (``grader.inert``).
"""
from __future__ import annotations

import csv
from pathlib import Path

import nbformat

from ..pipeline import status as status_store
from . import Course, week_order
from .deadlines import late_columns, lateness
from ..nbgrader_setup.gradebook import gradebook_totals
from ..inert import csv_safe, terminal_safe
from ..nbgrader_setup.cells import nbgrader_meta

COLUMNS = ["student", "week", "status", "kind", "score", "max_score", "to_hand_grade", "reason", "warnings", "seconds",
           "submitted", "due", "late", "late_penalty"]


STALE = "stale"  # the status shown for a record whose submission folder is gone


def max_points(course: Course, week: str) -> float:
    nb = nbformat.read(course.solutions / week / course.notebook_name(week), as_version=4)
    return float(sum(float(nbgrader_meta(c).get("points", 0)) for c in nb.cells if nbgrader_meta(c).get("grade")))


def rows(course: Course, week: str | None = None) -> list[dict]:
    """Every recorded submission's row, sorted by week then student.

    A record whose ``submitted/<student>/<week>/`` folder no longer exists is ``stale`` (the
    submission was withdrawn or moved after grading), with a warning that says what to do.
    """
    out = []
    for o in status_store.load_all(course, week):
        warnings = list(o.warnings)
        if not course.submitted(o.student, o.week).is_dir():
            o.status = STALE
            warnings.insert(0, f"submitted/{o.student}/{o.week}/ was deleted after grading, so this row is out of date: "
                               f"restore the folder and run `python -m grader autograde {o.week} --student {o.student}`, or "
                               f"delete .grader/status/{o.week}/{o.student}.json to drop the row")
        score, pending = 0.0, 0.0
        if o.status == status_store.GRADED:
            totals = gradebook_totals(course, o.week, o.student)
            score, pending = (totals[0], totals[2]) if totals else (0.0, 0.0)
        late = lateness(course, o.week, o.student)  # score is after the late penalty, as nbgrader's export
        out.append({
            "student": o.student, "week": o.week, "status": o.status, "kind": o.kind,
            "score": round(max(0.0, score - late.penalty), 3),
            "max_score": max_points(course, o.week), "to_hand_grade": pending, "reason": o.reason,
            "warnings": "; ".join(warnings), "seconds": o.seconds,
            **late_columns(late),
        })
    return sorted(out, key=lambda r: (week_order(r["week"]), r["student"]))


def write_csv(course: Course, path: Path, week: str | None = None) -> list[dict]:
    table = rows(course, week)
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows({k: csv_safe(v) for k, v in row.items()} for row in table)
    return table


def format_table(table: list[dict]) -> str:
    """A plain-text table for the terminal; control characters in any field are shown escaped."""
    if not table:
        return "(no graded submissions)"
    header = f"{'student':<20} {'week':<18} {'status':<13} {'score':>7} {'to hand-grade':>13}  {'late':<22}  reason"
    lines = [header, "-" * len(header)]
    for r in table:
        r = {k: terminal_safe(v) if isinstance(v, str) else v for k, v in r.items()}
        score = f"{r['score']:g}/{r['max_score']:g}"
        pending = f"{r['to_hand_grade']:g}" if r["to_hand_grade"] else ""
        reason = (r["kind"] + ": " if r["kind"] else "") + (r["reason"] or "")
        if r.get("warnings"):
            reason = (reason + " | " if reason else "") + "warning: " + r["warnings"]
        lines.append(f"{r['student']:<20} {r['week']:<18} {r['status']:<13} {score:>7} {pending:>13}  {r['late']:<22}  {reason[:120]}")
    graded = sum(r["status"] == status_store.GRADED for r in table)
    stale = sum(r["status"] == STALE for r in table)
    warned = sum(bool(r.get("warnings")) for r in table)
    lines.append(f"{graded} graded, {len(table) - graded - stale} not gradable" + (f", {stale} stale" if stale else "")
                 + (f", {warned} with warnings (see the warnings column of the export)" if warned else ""))
    return "\n".join(lines)
