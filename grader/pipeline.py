"""Grading one submission from end to end, and a whole class in parallel.

For each submission:
1. ``precheck``: the notebook exists under its name, is valid JSON and a valid
   notebook, and its nbgrader metadata matches the source (no tampered flags or points);
2. nbgrader's autograde in a process of its own (``grader.autograde_step``): cells
   restored from the gradebook, the notebook executed in the jail, outputs recorded;
3. the hidden checks (``grader.hidden``) on the autograded notebook's code, in the jail;
4. their scores written into the gradebook per hidden-test cell, their results shown
   in the autograded notebook (so formgrader and feedback show them);
5. a status record (``grader.status``).
Anything failing in 1-2 makes the submission ``not_gradable`` with a reason and every
autograded cell 0; a failure in 3 scores the affected cells 0 with a reason.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from . import status as status_store
from .config import NOTEBOOK_WALL_SECONDS
from .course import Course
from .deadlines import assign_late_penalty
from .gradebook import gradebook_totals, write_hidden_scores, zero_autograded
from .hidden import as_plain, grade_hidden
from .ids import id_problem, shown
from .notebook_roles import grade_id, is_hidden_test_cell
from .precheck import NotGradable, precheck
from .sandbox.fair_share import sweep_stale

AUTOGRADE_WALL_SECONDS = NOTEBOOK_WALL_SECONDS + 180


def run_autograde_step(course: Course, week: str, student: str, timeout: float = AUTOGRADE_WALL_SECONDS) -> None:
    """Run nbgrader's autograde for one submission in its own process group."""
    with tempfile.TemporaryDirectory(prefix="grader-step-") as tmp:
        out = Path(tmp) / "result.json"
        cmd = [sys.executable, "-m", "grader.autograde_step", str(course.root), week, student, str(out)]
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
        try:
            _, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise NotGradable("timed_out", f"grading did not finish within {timeout:.0f} s") from None
        if not out.exists():
            raise NotGradable("nbgrader_error", f"nbgrader's autograde stopped without a result: {err.decode(errors='replace')[-300:]}")
        result = json.loads(out.read_text())
    if not result["ok"]:
        raise NotGradable(result["status"], result["reason"])


def annotate(notebook: Path, scores: dict) -> None:
    """Replace each hidden-test cell's placeholder with its checks' results (names, pass/fail, messages)."""
    nb = nbformat.read(str(notebook), as_version=4)
    for cell in nb.cells:
        if not is_hidden_test_cell(cell) or grade_id(cell) not in scores:
            continue
        cell_score = scores[grade_id(cell)]
        cell.source = f"# Hidden checks: {cell_score.score:g} of {cell_score.max_points:g} points"
        cell.outputs = [nbformat.v4.new_output(
            "display_data", data={"text/plain": results_text(cell_score), "text/html": results_html(cell_score)})]
    mode = notebook.stat().st_mode
    notebook.chmod(mode | 0o200)  # nbgrader leaves it read-only (444); only root could write it as it is
    try:
        nbformat.write(nb, str(notebook))
    finally:
        notebook.chmod(mode)


def results_text(cell) -> str:
    lines = [f"Hidden checks: {cell.score:g} / {cell.max_points:g} points"]
    if cell.reason:
        lines.append(f"  not scored: {cell.reason}")
    for t in cell.tests:
        mark = "PASS" if t["passed"] else "FAIL"
        lines.append(f"  [{mark}] {t['name']} ({t['points']:g} pt)" + ("" if t["passed"] else f" - {t['message']}"))
    return "\n".join(lines)


def results_html(cell) -> str:
    import html

    rows = "".join(
        f"<tr><td style='text-align:left'>{html.escape(t['name'])}</td><td>{t['points']:g}</td>"
        f"<td style='color:{'#1a7f37' if t['passed'] else '#cf222e'}'>{'pass' if t['passed'] else 'fail'}</td>"
        f"<td style='text-align:left'>{'' if t['passed'] else html.escape(t['message'] or '')}</td></tr>"
        for t in cell.tests
    )
    reason = f"<p>Not scored: {html.escape(cell.reason)}</p>" if cell.reason else ""
    return (f"<div><p><b>Hidden checks: {cell.score:g} / {cell.max_points:g} points</b></p>{reason}"
            "<table><thead><tr><th>check</th><th>points</th><th>result</th><th>message</th></tr></thead>"
            f"<tbody>{rows}</tbody></table></div>")


def grade_submission(root, week: str, student: str) -> dict:
    """Grade one submission and record its outcome; returns the outcome as a plain dict.

    Never raises for a bad submission: every failure becomes a status with a reason.
    An invalid student id (``grader.ids``) is refused before anything is read or
    written: no status record, no gradebook change, for that id or anybody else.
    """
    problem = id_problem(student)
    if problem:
        return status_store.Outcome(student=student, week=week, status=status_store.NOT_GRADABLE, kind="bad_student_id",
                                    reason=f"refused student id {shown(student)}: {problem}").to_dict()
    course = Course.at(root)
    started = time.monotonic()
    outcome = status_store.Outcome(student=student, week=week, status=status_store.NOT_GRADABLE)
    try:
        precheck(course, week, student)
        run_autograde_step(course, week, student)
        notebook = course.autograded(student, week) / course.notebook_name(week)
        scores = grade_hidden(week, notebook, course.root)
        write_hidden_scores(course, week, student, scores)
        assign_late_penalty(course, week, student)  # the late policy, on the final scores
        annotate(notebook, scores)
        outcome.status = status_store.GRADED
        outcome.cells = as_plain(scores)
        totals = gradebook_totals(course, week, student)
        outcome.score, outcome.max_score = totals[:2] if totals else (0.0, 0.0)
        unscored = [f"{gid}: {c.reason}" for gid, c in scores.items() if c.reason]
        outcome.reason = "; ".join(unscored)
    except NotGradable as exc:
        outcome.kind, outcome.reason = exc.status, exc.reason
    except Exception as exc:  # a grader bug must not stop the batch, nor award points
        outcome.kind, outcome.reason = "grader_error", f"{type(exc).__name__}: {exc}"[:500]
    if outcome.status != status_store.GRADED:
        try:
            zero_autograded(course, week, student)
        except Exception as exc:
            outcome.reason += f" (and the gradebook could not be zeroed: {exc})"
        outcome.score = 0.0
    sweep_stale()  # the cgroups of jails whose process was killed at a time limit
    outcome.seconds = round(time.monotonic() - started, 2)
    status_store.save(course, outcome)
    return outcome.to_dict()
