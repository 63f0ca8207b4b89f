"""Execute a whole notebook inside the jail: nbclient and its kernel both run there.

``run_notebook`` copies the notebook into a fresh workspace, runs ``_nbrunner.py`` in the
jail (loopback only, no network; the kernel is the same interpreter, ``sys.executable``),
then reads back the executed notebook (validated as a notebook, size-capped, never a symlink)
and writes it to ``output_path``. The result says how it went, with a reason.
"""
from __future__ import annotations

import json
import os
import stat
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import nbformat

from .jail import JailedProcess, Workspace, require_sandbox
from .limits import Limits

HERE = Path(__file__).resolve().parent
STATUSES = ("ok", "timed_out", "kernel_died", "out_of_memory", "error")


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


def _read_back(path: Path, max_bytes: int) -> bytes:
    """Bytes of a file the sandbox wrote: regular file, no symlink, at most ``max_bytes``."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fh.fileno())
        if not stat.S_ISREG(st.st_mode) or st.st_size > max_bytes:
            raise ValueError(f"{path.name} is not a regular file of at most {max_bytes} bytes")
        return fh.read(max_bytes + 1)


def run_notebook(notebook_path: Path | str, output_path: Path | str, hide: Iterable[Path] = (), expose: Iterable[Path] = (),
                 limits: Limits = Limits(), cell_timeout: float = 120.0) -> NotebookRun:
    """Execute ``notebook_path`` in the jail and write the executed notebook to ``output_path``."""
    require_sandbox()
    output_path = Path(output_path)
    workspace = Workspace()
    try:
        workspace.add_dir("in")
        source = workspace.add_file("in/notebook.ipynb", Path(notebook_path).read_bytes())
        runner = workspace.add_file("_grader_nbrunner.py", (HERE / "_nbrunner.py").read_bytes())
        out_dir = workspace.add_dir("out", writable=True)
        argv = [sys.executable, "-B", str(runner), str(source), str(out_dir), str(cell_timeout)]
        process = JailedProcess(workspace, argv, hide=hide, expose=expose, limits=limits)
        finished = process.wait(limits.wall_seconds)
        if not finished:
            process.kill()
        result = process.result(timed_out=not finished)
        return _collect(result, out_dir, output_path, limits)
    finally:
        workspace.cleanup()


def _collect(result, out_dir: Path, output_path: Path, limits: Limits) -> NotebookRun:
    log = result.stderr[-4000:]
    if result.timed_out:
        return NotebookRun("timed_out", f"the notebook ran past the wall-time limit of {limits.wall_seconds:g} s",
                           None, [], result.wall_seconds, log)
    try:
        report = json.loads(_read_back(out_dir / "status.json", 1 << 20))
        status = report["status"] if report.get("status") in STATUSES else "error"
        reason, errors = str(report.get("reason", "")), list(report.get("cell_errors", []))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        status = "out_of_memory" if result.out_of_memory else "error"
        return NotebookRun(status, f"the notebook runner {result.describe()} without reporting", None, [], result.wall_seconds, log)
    try:
        nb = nbformat.reads(_read_back(out_dir / "executed.ipynb", limits.output_bytes).decode("utf-8"), as_version=4)
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        return NotebookRun("error", f"the executed notebook could not be read back: {exc}", None, errors, result.wall_seconds, log)
    output_path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(output_path))
    return NotebookRun(status, reason, output_path, errors, result.wall_seconds, log)
