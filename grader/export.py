"""The grade table: one row per submission, with its status beside its score.

Scores come from nbgrader's gradebook (so manual grades from formgrader count); the
status comes from ``grader.status``. A submission that could not be graded shows
``not_gradable`` and its reason, so it never passes for a real zero. Reasons can carry
a student's text: the terminal table escapes control characters and the CSV neutralises
cells a spreadsheet would run as formulas (``grader.inert``).
"""
from __future__ import annotations

import csv
from pathlib import Path

import nbformat

from . import status as status_store
from .course import Course
from .deadlines import late_columns, lateness
from .gradebook import gradebook_totals
from .inert import csv_safe, terminal_safe
from .notebook_roles import nbgrader_meta

COLUMNS = ["student", "week", "status", "kind", "score", "max_score", "to_hand_grade", "reason", "seconds",
           "submitted", "due", "late", "late_penalty"]


def max_points(course: Course, week: str) -> float:
    nb = nbformat.read(course.solutions / week / course.notebook_name(week), as_version=4)
    return float(sum(float(nbgrader_meta(c).get("points", 0)) for c in nb.cells if nbgrader_meta(c).get("grade")))


def rows(course: Course, week: str | None = None) -> list[dict]:
    """Every recorded submission's row, sorted by week then student."""
    out = []
    for o in status_store.load_all(course, week):
        score, pending = 0.0, 0.0
        if o.status == status_store.GRADED:
            totals = gradebook_totals(course, o.week, o.student)
            score, pending = (totals[0], totals[2]) if totals else (0.0, 0.0)
        late = lateness(course, o.week, o.student)  # score is after the late penalty, as nbgrader's export
        out.append({
            "student": o.student, "week": o.week, "status": o.status, "kind": o.kind,
            "score": round(max(0.0, score - late.penalty), 3),
            "max_score": max_points(course, o.week), "to_hand_grade": pending, "reason": o.reason, "seconds": o.seconds,
            **late_columns(late),
        })
    return sorted(out, key=lambda r: (r["week"], r["student"]))


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
        lines.append(f"{r['student']:<20} {r['week']:<18} {r['status']:<13} {score:>7} {pending:>13}  {r['late']:<22}  {reason[:80]}")
    graded = sum(r["status"] == status_store.GRADED for r in table)
    lines.append(f"{graded} graded, {len(table) - graded} not gradable")
    return "\n".join(lines)
