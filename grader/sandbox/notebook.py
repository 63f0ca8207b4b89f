"""Execute a whole notebook inside the jail: nbclient and its kernel both run there.

``run_notebook`` copies the notebook into a fresh workspace, runs ``_nbrunner.py`` in the
jail (loopback only, no network; the kernel is the same interpreter, ``sys.executable``),
then reads the runner's report from a pipe only the runner holds (size-capped, parsed as JSON,
the notebook validated as a notebook) and writes the executed notebook to ``output_path``.
The result says how it went, with a reason.
"""
from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import nbformat

from .jail import JailedProcess, Workspace, require_sandbox
from .limits import Limits
from .runner_report import RunnerReport
from .warm_caches import font_cache_seed

HERE = Path(__file__).resolve().parent


@dataclass
class NotebookRun:
    """How a notebook run ended.

    status: ``ok`` (every cell ran; cells may still hold errors, see ``cell_errors``),
    ``timed_out`` (a cell or the whole run passed its limit), ``kernel_died``,
    ``out_of_memory``, or ``error`` (the run itself failed, e.g. an unreadable notebook).
    ``output_path`` is None when no executed notebook came back.
    """

    status: str
    reason: str
    output_path: Path | None
    cell_errors: list[dict] = field(default_factory=list)
    wall_seconds: float = 0.0
    log: str = ""


def run_notebook(notebook_path: Path | str, output_path: Path | str, hide: Iterable[Path] = (), expose: Iterable[Path] = (),
                 limits: Limits = Limits(), cell_timeout: float = 120.0) -> NotebookRun:
    """Execute ``notebook_path`` in the jail and write the executed notebook to ``output_path``."""
    require_sandbox()
    output_path = Path(output_path)
    workspace = Workspace()
    try:
        source = workspace.add_file("notebook.ipynb", Path(notebook_path).read_bytes())
        runner = workspace.add_file("_grader_nbrunner.py", (HERE / "_nbrunner.py").read_bytes())
        workspace.add_file("_grader_runner_report.py", (HERE / "runner_report.py").read_bytes())
        argv = [sys.executable, "-B", workspace.jail_path(runner), workspace.jail_path(source), str(cell_timeout), "{report_fd}"]
        process = JailedProcess(workspace, argv, hide=hide, expose=expose, limits=limits, report=True,
                                seed=font_cache_seed())
        finished = process.wait(limits.wall_seconds)
        if not finished:
            process.kill()
        result = process.result(timed_out=not finished)
        return _collect(result, process.report_bytes(), output_path, limits)
    finally:
        workspace.cleanup()


def _collect(result, report_bytes: bytes | None, output_path: Path, limits: Limits) -> NotebookRun:
    log = result.stderr[-4000:]
    if result.timed_out:
        return NotebookRun("timed_out", f"the notebook ran past the wall-time limit of {limits.wall_seconds:g} s",
                           None, [], result.wall_seconds, log)
    try:
        report = RunnerReport.from_json(report_bytes.decode("utf-8"))
        status, reason, errors, text = report.status, report.reason, report.cell_errors, report.notebook
    except (AttributeError, ValueError, TypeError, UnicodeDecodeError):
        status = "out_of_memory" if result.out_of_memory else "error"
        return NotebookRun(status, f"the notebook runner {result.describe()} without reporting", None, [], result.wall_seconds, log)
    try:
        nb = nbformat.reads(text, as_version=4)
    except (ValueError, TypeError) as exc:
        return NotebookRun("error", f"the executed notebook could not be read back: {exc}", None, errors, result.wall_seconds, log)
    output_path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(output_path))
    return NotebookRun(status, reason, output_path, errors, result.wall_seconds, log)
