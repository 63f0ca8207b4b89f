"""Grading one submission from end to end, and a whole class in parallel.

For each submission:
1. ``precheck``: the notebook exists under its name, is valid JSON and a valid
   notebook, and its nbgrader metadata matches the source (no tampered flags or points);
2. nbgrader's autograde in a process of its own (``grader.pipeline.autograde``): cells
   restored from the gradebook, gradebook rows made, and the notebook *rendered* in the
   jail for its outputs (skipped with ``render=False``);
3. the hidden checks (``grader.pipeline.hidden_checks``) on the autograded notebook's code, in the jail:
   the only source of points;
4. their scores written into the gradebook per hidden-test cell, the late policy applied,
   their results shown in the autograded notebook (so formgrader and feedback show them);
5. a status record (``grader.pipeline.status``), with the warnings.
Anything failing in 1-2 makes the submission ``not_gradable`` with a reason and every
autograded cell 0. A rendering failure (a training cell past the cell limit, say) is a
*warning* on the row and never changes a score. In 3, a submission whose answers cannot
even be loaded, or that earns nothing because its process hit a limit or died in the
checks (an endless loop, ``os._exit``, a memory bomb), is ``not_gradable`` with that
kind; otherwise a failed check scores 0 and a process limit hit is a warning.
"""
from __future__ import annotations

import time

from . import status as status_store
from ..course import Course
from ..course.deadlines import assign_late_penalty
from ..nbgrader_setup.gradebook import gradebook_totals, write_hidden_scores, zero_autograded
from .hidden_checks import as_plain, grade_hidden
from ..records import CheckRun
from .annotate import annotate
from .autograde import run_autograde_step
from .stage_server import server_for
from ..ids import id_problem, shown
from .precheck import NotGradable, precheck
from ..sandbox.fair_share import sweep_stale



PROCESS_FAILURES = ("timed_out", "kernel_died", "out_of_memory")
FAILURE_WORDS = {"timed_out": "did not finish within the time limit (an endless loop?)",
                 "kernel_died": "ended the process that ran it (os._exit, a signal or a crash)",
                 "out_of_memory": "ran out of memory"}


def judge_checks(week: str, student: str, scores: dict, run: CheckRun) -> list[str]:
    """Warnings from the hidden checks' run; ``NotGradable`` when the checks could judge nothing.

    That is when the student's answers could not be loaded at all, or when no check passed
    and a check's student process hit a limit or died (the first such check names the kind).
    """
    again = f"python -m grader autograde {week} --student {student}"
    if run.program_failure:
        raise NotGradable(run.program_failure, f"no hidden check could run: {run.program_reason}. Look at the top "
                          f"level of the answer cells (code outside a function or class runs when the answers are "
                          f"loaded); after a fix run `{again}`")
    failed = [t for t in run.tests if t.failure in PROCESS_FAILURES]  # in the order the checks ran
    if not failed:
        return []
    kind = failed[0].failure  # later ones may only say the worker was given up on
    names = ", ".join(dict.fromkeys(t.name for t in failed))[:200]
    if not any(t.passed for t in run.tests):
        raise NotGradable(kind, f"the student's code {FAILURE_WORDS[kind]} in {len(failed)} hidden check(s) and "
                          f"passed none ({names}); the grade is 0 until the code is fixed and `{again}` is run")
    return [f"hidden checks: the code {FAILURE_WORDS[kind]} in {len(failed)} check(s), which scored 0: {names}"]


def grade_submission(root, week: str, student: str, render: bool = True) -> dict:
    """Grade one submission and record its outcome; returns the outcome as a plain dict.

    Never raises for a bad submission: every failure becomes a status with a reason.
    An invalid student id (``grader.ids``) is refused before anything is read or
    written: no status record, no gradebook change, for that id or anybody else.
    ``render=False`` skips running the whole notebook (``python -m grader render`` does it later).
    """
    problem = id_problem(student)
    if problem:
        return status_store.Outcome(student=student, week=week, status=status_store.NOT_GRADABLE, kind="bad_student_id",
                                    reason=f"refused student id {shown(student)}: {problem}; rename the folder "
                                           "submitted/<id>/ to a valid id and grade it with --student").to_dict()
    course = Course.at(root)
    started = time.monotonic()
    outcome = status_store.Outcome(student=student, week=week, status=status_store.NOT_GRADABLE)
    try:
        precheck(course, week, student)
        step = run_autograde_step(course, week, student, render=render)
        outcome.rendered = step.rendered
        outcome.warnings = [step.warning] if step.warning else ([] if render else [NOT_RENDERED])
        notebook = course.autograded(student, week) / course.notebook_name(week)
        scores, run = grade_hidden(week, notebook, course.root, server_for(course))
        outcome.warnings += judge_checks(week, student, scores, run)
        write_hidden_scores(course, week, student, scores)
        penalty = assign_late_penalty(course, week, student)  # the late policy, on the final scores
        annotate(notebook, scores)
        outcome.status = status_store.GRADED
        outcome.cells = as_plain(scores)
        totals = gradebook_totals(course, week, student)
        score, outcome.max_score = totals[:2] if totals else (0.0, 0.0)
        outcome.score = round(max(0.0, score - penalty), 6)  # what the export shows: after the late penalty
        outcome.late_penalty = penalty
        unscored = [f"{gid}: {c.reason}" for gid, c in scores.items() if c.reason]
        outcome.reason = "; ".join(unscored)
    except NotGradable as exc:
        outcome.kind, outcome.reason = exc.status, exc.reason
    except Exception as exc:  # a grader bug must not stop the batch, nor award points
        outcome.kind = "grader_error"
        outcome.reason = (f"{type(exc).__name__}: {exc}"[:400] + "; this is a fault in the grader, not in the submission: "
                          f"run `python -m grader autograde {week} --student {student}` again, and report it if it persists")
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


NOT_RENDERED = ("not rendered: the notebook was graded without running it, so no outputs are shown; the points come "
                "from the hidden checks [instructor: graded with --no-render; python -m grader render <week> adds them]")
