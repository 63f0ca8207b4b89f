"""nbgrader's autograde for one submission, in a process of its own.

``python -m grader.autograde_step ROOT WEEK STUDENT RESULT_JSON`` runs nbgrader's
autograde (with ``SandboxedExecute``) and writes ``{"ok": bool, "status", "reason"}``
to RESULT_JSON. The pipeline starts it in a new session and kills the whole group at
the wall limit, so nothing nbgrader or the jail leaves behind can outlive a submission.
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path


def autograde(root: Path, week: str, student: str) -> dict:
    from . import nbgrader_ext
    from .course import Course

    course = Course.at(root)
    os.environ[nbgrader_ext.PIPELINE_ENV] = "1"  # this process is the pipeline's: SandboxedExecute may run
    result = course.api().autograde(week, student, force=True, create=True)
    failure = nbgrader_ext.last_failure
    if failure is not None:
        return {"ok": False, "status": failure.status, "reason": failure.reason}
    if not result["success"]:
        log = (result.get("log") or "") + (result.get("error") or "")
        return {"ok": False, "status": "nbgrader_error", "reason": summarise_log(log), "log": log[-6000:]}
    return {"ok": True, "status": "ok", "reason": ""}


def summarise_log(log: str) -> str:
    """The most telling line of an nbgrader log (its last error line)."""
    lines = [line.strip() for line in log.splitlines() if line.strip()]
    for line in reversed(lines):
        if ("Error" in line or "error" in line) and "Please see" not in line and "There was an error" not in line:
            return line[:300]
    return lines[-1][:300] if lines else "nbgrader failed without a message"


def main(argv=None) -> int:
    root, week, student, out = (argv or sys.argv[1:])[:4]
    try:
        payload = autograde(Path(root), week, student)
    except BaseException as exc:  # report, never hang the batch
        payload = {"ok": False, "status": "nbgrader_error", "reason": f"{type(exc).__name__}: {exc}"[:300]}
    Path(out).write_text(json.dumps(payload))
    return 0


if __name__ == "__main__":
    sys.exit(main())
