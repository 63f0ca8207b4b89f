"""Stage 2: nbgrader's autograde for one submission, run in a stage server (``grader.pipeline.stage_server``).

``autograde`` runs nbgrader's autograde (with ``SandboxedExecute``, which renders the
notebook in the jail unless ``render`` is False) and returns a ``grader.records.StepResult``.
It runs in a helper process, never in the pipeline's own: the pipeline kills the helper's
whole process group at the wall limit, so nothing nbgrader or the jail leaves behind can
outlive a submission.
"""
from __future__ import annotations

import os
from pathlib import Path

from ..course import Course
from ..limits import AUTOGRADE_WALL
from ..records import StageRequest, StepResult
from .precheck import NotGradable
from .stage_server import StageDied, StageTimeout, server_for


def autograde(root: Path, week: str, student: str, render: bool = True) -> StepResult:
    from ..nbgrader_setup import preprocessors as nbgrader_ext

    course = Course.at(root)
    os.environ[nbgrader_ext.PIPELINE_ENV] = "1"  # this process is the pipeline's: SandboxedExecute may run
    nbgrader_ext.render_state.__init__()  # a stage server grades many submissions: start clean
    nbgrader_ext.render_state.render = render
    result = course.api().autograde(week, student, force=True, create=True)
    state = nbgrader_ext.render_state
    if not result["success"]:
        log = (result.get("log") or "") + (result.get("error") or "")
        return StepResult(False, "nbgrader_error", nbgrader_reason(log, week, student), log=log[-6000:])
    return StepResult(True, rendered=state.rendered, warning=state.warning)


def nbgrader_reason(log: str, week: str, student: str) -> str:
    """The cause of an nbgrader failure from its log, and what to do about it.

    nbgrader ends every failure with "Please see the above traceback for details": the
    cause is the last exception line *before* it (or a known message it logged).
    """
    again = f"python -m grader autograde {week} --student {student}"
    if "No assignment with ID" in log or "does not exist in the database" in log or "MissingEntry" in log:
        return (f"nbgrader does not know {week} (it is not in the gradebook): run `python -m grader generate {week}`, "
                f"then `{again}`")
    cause = summarise_log(log)
    return f"nbgrader's autograde failed: {cause}. Fix the cause, then run `{again}` (full log: rerun it with --student)"


def summarise_log(log: str) -> str:
    """The most telling line of an nbgrader log: its last error line that is not a pointer elsewhere."""
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    pointers = ("Please see", "please see", "There was an error", "NbGraderException")
    for line in reversed(lines):
        if ("Error" in line or "error" in line or "Exception" in line) and not any(p in line for p in pointers):
            return line[:300]
    for line in reversed(lines):
        if not any(p in line for p in pointers):
            return line[:300]
    return "nbgrader failed without a message"


def crashed(exc: BaseException, week: str, student: str) -> StepResult:
    """The result of a step that raised (a fault in the grader, never the submission's)."""
    return StepResult(False, "grader_error", f"the autograde step failed ({type(exc).__name__}: {exc})"[:300]
                      + f"; this is a fault in the grader, not in the submission: run `python -m grader autograde "
                        f"{week} --student {student}` again, and report it if it persists")


# ---------------------------------------------------------------------------- the pipeline's side
def run_autograde_step(course: Course, week: str, student: str, render: bool = True,
                       timeout: float = AUTOGRADE_WALL) -> StepResult:
    """Run nbgrader's autograde for one submission in this thread's stage server; ``NotGradable`` if it failed."""
    again = f"python -m grader autograde {week} --student {student}"
    request = StageRequest("autograde", str(course.root), week, student=student, render=render)
    try:
        result = server_for(course).request(request, timeout)
    except StageTimeout:
        raise NotGradable("timed_out", f"nbgrader's autograde step did not finish within {timeout:.0f} s (the "
                          f"machine overloaded, or a gradebook lock held elsewhere?); run `{again}` again, or "
                          f"`{again} --no-render` to grade without running the notebook") from None
    except StageDied as exc:
        tail = exc.log.strip().splitlines()[-1:] or ["no message"]
        raise NotGradable("nbgrader_error", f"nbgrader's autograde step {exc} ({tail[0][:200]}); run `{again}` "
                          "again, and report it if it persists") from None
    if not result.ok:
        raise NotGradable(result.kind or "nbgrader_error", result.reason)
    return result
