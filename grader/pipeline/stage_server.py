"""Long-lived helper processes for the stages that are slow to start: nbgrader's autograde
step and the hidden checks.

Importing nbgrader costs 1-4 s per process, pytest and the checks about another second;
a grading worker grades many submissions, so it keeps one helper process (per thread and
course) and sends it one request per stage instead of starting two processes per
submission. Student code never runs in a helper: nbgrader's step renders the notebook in
the jail, and the checks' student code runs in jails of their own.

Protocol: a ``StageRequest`` per line on the helper's stdin; a reply record per line
(``StepResult`` or ``CheckRun``) on a pipe of its own, so nothing nbgrader or pytest prints
can pass for a reply (their output goes to a log file). The helper runs in a session of
its own: when a request passes its wall limit the whole process group is killed, and the
next request starts a fresh helper.
"""
from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
import weakref
from dataclasses import asdict
from pathlib import Path

from ..records import CheckRun, RecordError, StageRequest, StepResult, from_dict, load


class StageTimeout(Exception):
    """A request did not finish within its wall limit (the helper was killed)."""


class StageDied(Exception):
    """The helper ended without answering; ``log`` is the tail of its output."""

    def __init__(self, message: str, log: str = ""):
        super().__init__(message)
        self.log = log


# ---------------------------------------------------------------------------- the helper process
def handle(request: StageRequest):
    """Do one request in this process; the reply record."""
    if request.kind == "autograde":
        from .autograde import autograde, crashed

        try:
            return autograde(Path(request.root), request.week, request.student, render=request.render)
        except Exception as exc:  # report, never hang the batch
            return crashed(exc, request.week, request.student)
    if request.kind == "checks":
        from .hidden_checks import run_checks_here

        try:
            return run_checks_here(request.week, Path(request.notebook), Path(request.root), request.tests or None)
        except Exception as exc:
            return CheckRun(error=f"the hidden checks could not run ({type(exc).__name__}: {exc})"[:400])
    raise RecordError(f"unknown request kind {request.kind!r}")


def warm_up() -> None:
    """Import what every request needs, then move everything imported out of the garbage collector's
    sight (``gc.freeze``): nbgrader, SQLAlchemy and pytest are a large heap that never becomes garbage,
    and each full collection (pytest and nbgrader's steps make several per submission) would walk it."""
    import gc

    import nbgrader.apps  # noqa: F401
    import pytest  # noqa: F401

    from . import autograde, hidden_checks  # noqa: F401
    from ..checks import harness  # noqa: F401

    gc.collect()
    gc.freeze()


def serve(reply_fd: int) -> int:
    warm_up()
    replies = os.fdopen(reply_fd, "w", encoding="utf-8")
    for line in sys.stdin:
        if not line.strip():
            continue
        reply = handle(from_dict(StageRequest, json.loads(line)))
        replies.write(json.dumps(asdict(reply)) + "\n")
        replies.flush()
    return 0


# ---------------------------------------------------------------------------- the trusted side
class StageServer:
    """One helper process for one course, started on the first request."""

    def __init__(self, environment: dict):
        self.environment = environment
        self.proc: subprocess.Popen | None = None
        self._replies: int | None = None
        self._buffer = b""
        self._log = None
        self._finalizer = None

    def request(self, request: StageRequest, timeout: float):
        """Send ``request``; its reply record. ``StageTimeout`` / ``StageDied`` when there is none."""
        if self.proc is None or self.proc.poll() is not None:
            self._start()
        self.proc.stdin.write((json.dumps(asdict(request)) + "\n").encode())
        self.proc.stdin.flush()
        line = self._read_line(time.monotonic() + timeout)
        if line is None:
            self.close()
            raise StageTimeout(f"no answer within {timeout:.0f} s")
        if line == b"":
            log = self._log_tail()
            self.close()
            raise StageDied("the helper process ended without answering", log)
        try:
            return load(StepResult if request.kind == "autograde" else CheckRun, line)
        except RecordError as exc:
            log = self._log_tail()
            self.close()
            raise StageDied(f"the helper's answer could not be read ({exc})", log) from None

    def _start(self) -> None:
        self.close()
        read_end, write_end = os.pipe()
        self._log = tempfile.TemporaryFile(prefix="grader-stage-")
        try:
            self.proc = subprocess.Popen([sys.executable, "-m", "grader.pipeline.stage_server", str(write_end)],
                                         stdin=subprocess.PIPE, stdout=self._log, stderr=subprocess.STDOUT,
                                         pass_fds=(write_end,), start_new_session=True, env=self.environment)
        finally:
            os.close(write_end)
        self._replies, self._buffer = read_end, b""
        self._finalizer = weakref.finalize(self, _kill, self.proc, read_end)

    def _read_line(self, deadline: float) -> bytes | None:
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            if not select.select([self._replies], [], [], min(left, 1.0))[0]:
                continue
            chunk = os.read(self._replies, 1 << 20)
            if not chunk:
                return b""
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        return line

    def _log_tail(self) -> str:
        if self._log is None:
            return ""
        self._log.seek(0, os.SEEK_END)
        self._log.seek(max(0, self._log.tell() - 3000))
        return self._log.read().decode(errors="replace")

    def close(self) -> None:
        """Kill the helper (its whole process group) and release its pipes."""
        if self._finalizer is not None:
            self._finalizer()
            self._finalizer = None
        self.proc, self._replies = None, None
        if self._log is not None:
            self._log.close()
            self._log = None


def _kill(proc: subprocess.Popen, replies: int) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()
    for stream in (proc.stdin,):
        try:
            stream.close()
        except OSError:
            pass
    try:
        os.close(replies)
    except OSError:
        pass


_local = threading.local()
_all: list[StageServer] = []
_all_lock = threading.Lock()


def server_for(course) -> StageServer:
    """This thread's helper for ``course`` (one per thread, course root and ``GRADER_*`` settings: a
    helper reads the limits once, so a changed limit gets a fresh one)."""
    servers = getattr(_local, "servers", None)
    if servers is None:
        servers = _local.servers = {}
    key = repr((str(course.root), sorted((k, v) for k, v in os.environ.items() if k.startswith("GRADER_"))))
    if key not in servers:
        servers[key] = StageServer(course.environment())
        with _all_lock:
            _all.append(servers[key])
    return servers[key]


def close_all() -> None:
    """Stop every helper this process started (the end of a batch)."""
    with _all_lock:
        servers, _all[:] = list(_all), []
    for server in servers:
        server.close()
    _local.__dict__.clear()


if __name__ == "__main__":
    sys.exit(serve(int(sys.argv[1])))
