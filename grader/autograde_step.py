"""nbgrader's autograde for one submission, in a process of its own.

``python -m grader.autograde_step ROOT WEEK STUDENT RESULT_JSON [--no-render]`` runs nbgrader's
autograde (with ``SandboxedExecute``, which renders the notebook in the jail unless
``--no-render``) and writes a ``grader.records.StepResult`` to RESULT_JSON. The pipeline
starts it in a new session and kills the whole group at the wall limit, so nothing nbgrader
or the jail leaves behind can outlive a submission.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

from .records import StepResult, dump


def autograde(root: Path, week: str, student: str, render: bool = True) -> StepResult:
    from . import nbgrader_ext
    from .course import Course

    course = Course.at(root)
    os.environ[nbgrader_ext.PIPELINE_ENV] = "1"  # this process is the pipeline's: SandboxedExecute may run
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


def main(argv=None) -> int:
    args = list(argv or sys.argv[1:])
    render = "--no-render" not in args
    root, week, student, out = [a for a in args if a != "--no-render"][:4]
    try:
        result = autograde(Path(root), week, student, render=render)
    except BaseException as exc:  # report, never hang the batch
        result = StepResult(False, "grader_error", f"the autograde step failed ({type(exc).__name__}: {exc})"[:300]
                            + f"; this is a fault in the grader, not in the submission: run `python -m grader autograde "
                              f"{week} --student {student}` again and report it if it persists")
    Path(out).write_text(dump(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
