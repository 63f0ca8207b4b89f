"""Trusted-side API for hidden checks: ask student code for plain data, never run it here.

    with StudentSession(program, hide=hide, expose=expose) as student:
        out = student.call("softmax", x, axis=-1)          # a NumPy array back
        res = student.module("Linear", {"in_features": 3, "out_features": 2}, [x], backward=g)

Student code runs in a jailed worker (``worker.py``) started on the first request. What comes
back is decoded plain data (``codec``); all comparing happens in the caller's process, so
nothing the student does to NumPy or builtins can touch it.

Failures are exceptions: ``StudentError`` (their code raised; show students only
``type_name`` and ``message``), ``StudentTimeout``, ``StudentCrashed`` (the process died:
``os._exit``, a signal, memory). After a timeout or crash the next request starts a fresh
worker, up to ``max_restarts`` times, so one hostile call does not zero the other checks.
When the program itself fails to load (raises, never finishes, dies) that failure is
remembered and raised again for every request: it is deterministic, retrying only wastes time.
"""
from __future__ import annotations

import json
import os
import select
import sys
import time
import weakref
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Sequence

from . import codec
from .jail import JailedProcess, Workspace, require_sandbox
from .limits import Limits
from .warm_caches import font_cache_seed

HERE = Path(__file__).resolve().parent
MAX_LINE = 256
DEFAULT_REQUEST_TIMEOUT = 60.0
DEFAULT_START_TIMEOUT = 60.0


class StudentError(Exception):
    """The student's code raised. ``type_name``/``message`` are safe to show to the student."""

    def __init__(self, type_name: str, message: str, traceback: Sequence[str] = ()):
        super().__init__(f"{type_name}: {message}")
        self.type_name = type_name
        self.message = message
        self.traceback = list(traceback)


class StudentTimeout(Exception):
    """The student's code did not finish in time (the worker was killed)."""


class StudentCrashed(Exception):
    """The worker process died (``os._exit``, a fatal signal, out of memory, a broken reply)."""

    def __init__(self, reason: str, output: str = ""):
        super().__init__(reason)
        self.reason = reason
        self.output = output


@dataclass
class ParameterInfo:
    shape: tuple
    dtype: str
    grad: Any  # ndarray or None when no gradient reached it


@dataclass
class ModuleResult:
    """What a ``module`` request reports: plain arrays and numbers only."""

    outputs: Any
    parameters: dict[str, ParameterInfo]
    input_grads: list
    attrs: dict[str, Any]
    training: bool
    state: dict[str, Any] | None = None


@dataclass
class _Worker:
    process: JailedProcess
    workspace: Workspace
    buffer: bytearray = field(default_factory=bytearray)


def _clone(exc: Exception) -> Exception:
    """A fresh copy of a remembered failure, to raise again."""
    if isinstance(exc, StudentError):
        return StudentError(exc.type_name, exc.message, exc.traceback)
    if isinstance(exc, StudentCrashed):
        return StudentCrashed(exc.reason, exc.output)
    return type(exc)(*exc.args)


def _stop(worker: _Worker | None) -> None:
    if worker is not None:
        worker.process.close()
        worker.workspace.cleanup()


class StudentSession:
    """One student's program, running in a jailed worker, queried one request at a time.

    Args:
        program: Python source, or a sequence of sources (cells) run in order. For a single
            string any top-level error fails the session; for a sequence a failing chunk is
            recorded in ``load_errors`` and the following chunks still run, like notebook cells.
        hide, expose: paths to hide / bind read-only (see ``grader.sandbox.paths``).
        limits: resource limits for each worker process (wall time counts per worker).
        request_timeout: cap on one request, in seconds (also bounded by the wall time left).
        start_timeout: cap on loading the program.
        max_restarts: how many times a worker killed by a timeout or crash is replaced.
    """

    def __init__(self, program: str | Sequence[str], hide: Iterable[Path] = (), expose: Iterable[Path] = (),
                 limits: Limits = Limits(), *, request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
                 start_timeout: float = DEFAULT_START_TIMEOUT, max_restarts: int = 2,
                 python_path: Sequence[str] | None = None):
        chunks = [program] if isinstance(program, str) else list(program)
        self._single_source = isinstance(program, str)
        self._program = json.dumps({"chunks": chunks, "continue_on_error": not isinstance(program, str)})
        self.hide, self.expose = list(hide), list(expose)
        self.limits = limits
        self.request_timeout = request_timeout
        self.start_timeout = start_timeout
        self.max_restarts = max_restarts
        self.python_path = python_path
        self.restarts = 0
        self.load_errors: list[dict] = []
        self._worker: _Worker | None = None
        self._started_once = False
        self._start_failure: Exception | None = None
        self._next_id = 0
        self._last_output = ""
        self._finalizer = weakref.finalize(self, _stop, None)

    # ------------------------------------------------------------------ public API
    def call(self, name: str, *args, **kwargs):
        """``name(*args, **kwargs)`` in the student's namespace; its (plain) result."""
        return self.call_with(name, args, kwargs)

    def call_with(self, name: str, args: Sequence = (), kwargs: dict | None = None, *, backward=None,
                  inspect: bool = False, timeout: float | None = None):
        """Like ``call`` with an explicit timeout. Wrap an argument in ``codec.AsTensor`` to pass a Tensor.

        With ``backward`` (an array shaped like the first output), the worker backpropagates it
        and the answer is ``{"outputs": ..., "input_grads": [grad or None per positional arg]}``;
        pass ``AsTensor(x, requires_grad=True)`` for the arguments whose gradients you want.
        With ``inspect``, the answer is ``{"outputs": ..., "args_after": [positional args after
        the call], "lines": line events traced in the student's own code, "output_type": the class
        name of what the function returned}``.
        """
        return self._request({"kind": "call", "name": name, "args": tuple(args), "kwargs": dict(kwargs or {}),
                              "backward": backward, "inspect": bool(inspect)}, timeout)

    def get(self, name: str, *, timeout: float | None = None):
        """The value of the student's global ``name`` (plain data only)."""
        return self._request({"kind": "get", "name": name}, timeout)

    def module(self, class_name: str, init_kwargs: dict | None = None, inputs: Sequence = (), state: dict | None = None,
               train: bool = False, backward=None, method: str = "forward", attrs: Sequence[str] = (),
               dtype: str | None = None, input_grad: bool = False, method_kwargs: dict | None = None,
               return_state: bool = False, timeout: float | None = None) -> ModuleResult:
        """Build ``class_name(**init_kwargs)`` in the sandbox and run ``method`` on ``inputs``.

        Float arrays in ``inputs`` become Tensors (cast to ``dtype``, e.g. ``"float64"``, when
        given; ``input_grad`` makes them require grad); other values pass as they are. ``state``
        is loaded with ``load_state_dict``; ``backward`` is the gradient fed to
        ``first_output.backward``. Returns outputs, parameter shapes and grads, input grads,
        the requested attributes and (``return_state``) the state dict, as plain data.
        """
        req = {"kind": "module", "class_name": class_name, "init_kwargs": dict(init_kwargs or {}), "inputs": list(inputs),
               "state": state, "train": bool(train), "backward": backward, "method": method, "attrs": list(attrs),
               "dtype": dtype, "input_grad": bool(input_grad), "method_kwargs": dict(method_kwargs or {}),
               "return_state": bool(return_state)}
        value = self._request(req, timeout)
        try:
            params = {name: ParameterInfo(tuple(info["shape"]), str(info["dtype"]), info["grad"]) for name, info in value["parameters"].items()}
            return ModuleResult(value["outputs"], params, list(value["input_grads"]), dict(value["attrs"]),
                                bool(value["training"]), value.get("state"))
        except (KeyError, TypeError, AttributeError) as exc:
            raise StudentCrashed(f"the worker's reply to a module request is malformed ({type(exc).__name__}: {exc})") from None

    @property
    def output(self) -> str:
        """What the student's code printed (stdout and stderr, capped) in the current or last worker."""
        if self._worker is not None:
            return self._worker.process.stderr.text()
        return self._last_output

    def close(self) -> None:
        self._retire()

    def __enter__(self) -> "StudentSession":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------ worker lifetime
    def _retire(self) -> None:
        worker, self._worker = self._worker, None
        if worker is not None:
            self._finalizer.detach()
            self._last_output = worker.process.stderr.text() if worker.process.stderr else ""
            _stop(worker)

    def _ensure_worker(self) -> _Worker:
        require_sandbox()
        if self._start_failure is not None:
            raise _clone(self._start_failure)
        if self._worker is not None:
            return self._worker
        if self._started_once:
            if self.restarts >= self.max_restarts:
                raise StudentCrashed(f"the student's worker was restarted {self.restarts} times already; giving up")
            self.restarts += 1
        self._started_once = True
        workspace = Workspace()
        try:
            workspace.add_file("_grader_worker.py", (HERE / "worker.py").read_bytes())
            workspace.add_file("_grader_codec.py", (HERE / "codec.py").read_bytes())
            workspace.add_file("program.json", self._program)
            workspace.add_dir("requests")
            argv = [sys.executable, "-B", f"{workspace.inside}/_grader_worker.py", str(workspace.inside)]
            process = JailedProcess(workspace, argv, hide=self.hide, expose=self.expose, limits=self.limits,
                                    python_path=self.python_path, interactive=True, seed=font_cache_seed())
        except BaseException:
            workspace.cleanup()
            raise
        self._worker = _Worker(process, workspace)
        self._finalizer = weakref.finalize(self, _stop, self._worker)
        try:
            started = self._await_reply("start", min(self.start_timeout, process.remaining()), "loading the program")
        except (StudentTimeout, StudentCrashed) as exc:
            self._start_failure = type(exc)(f"the student's program could not be loaded: {exc}")
            raise self._start_failure from None
        self.load_errors = list(started.get("errors", []))
        if self.load_errors and self._single_source:
            err = self.load_errors[0]
            self._start_failure = StudentError(err["type"], err["message"], err.get("traceback", []))
            self._retire()
            raise self._start_failure
        return self._worker

    def _request(self, payload: dict, timeout: float | None):
        worker = self._ensure_worker()
        request_id = str(self._next_id)
        self._next_id += 1
        path = worker.workspace.base / "requests" / f"{request_id}.npz"
        codec.write_file(path, payload)
        try:
            worker.process.popen.stdin.write(f"request {request_id}\n".encode())
            worker.process.popen.stdin.flush()
        except (BrokenPipeError, OSError):
            pass  # it died: _await_reply reports how
        limit = self.request_timeout if timeout is None else timeout
        what = f"the {payload['kind']} request for {payload.get('name') or payload.get('class_name')!r}"
        return self._await_reply(request_id, min(limit, worker.process.remaining()), what)

    def _await_reply(self, request_id: str, timeout: float, what: str):
        worker = self._worker
        deadline = time.monotonic() + max(timeout, 0.0)
        while True:
            line = self._read_line(worker, deadline)
            if line is None:  # timed out
                wall_spent = worker.process.remaining() <= 0
                self._retire()
                budget = "the sandbox's wall-time limit was used up" if wall_spent else f"no answer within {timeout:.1f} s"
                raise StudentTimeout(f"{what} did not finish: {budget} (an endless loop?)")
            if line == b"":  # EOF: the worker is gone
                result = self._finish(worker)
                raise StudentCrashed(f"the student's process died during {what}: {result.describe()}", result.stderr[-2000:])
            parts = line.split()
            if len(parts) == 3 and parts[:2] == [b"reply", request_id.encode()] and parts[2].isdigit():
                break  # other lines can only be forgeries by the student's own code: ignore them
        size = int(parts[2])
        try:
            if size > codec.MAX_BYTES:
                raise codec.CodecError(f"it is larger than {codec.MAX_BYTES} bytes")
            payload = self._read_exact(worker, size, deadline)
            if payload is None:
                raise codec.CodecError("it did not arrive in time")
            reply = codec.decode(payload)
            ok = bool(reply["ok"])
        except (codec.CodecError, KeyError, TypeError) as exc:
            self._retire()
            raise StudentCrashed(f"the reply to {what} could not be read: {exc}") from None
        if ok:
            return reply.get("value")
        err = reply.get("error") or {}
        raise StudentError(str(err.get("type", "Error")), str(err.get("message", "")), [str(s) for s in err.get("traceback", [])])

    def _finish(self, worker: _Worker):
        worker.process.wait(5)
        self._worker = None
        self._finalizer.detach()
        try:
            result = worker.process.result()
        finally:
            self._last_output = worker.process.stderr.text()
            worker.workspace.cleanup()
        return result

    @staticmethod
    def _read_exact(worker: _Worker, size: int, deadline: float) -> bytes | None:
        """The next ``size`` bytes of the protocol channel; None at EOF or when ``deadline`` passes."""
        fd = worker.process.popen.stdout.fileno()
        while len(worker.buffer) < size:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                return None
            chunk = os.read(fd, max(1 << 16, min(size - len(worker.buffer), 1 << 24)))
            if not chunk:
                return None
            worker.buffer += chunk
        payload = bytes(worker.buffer[:size])
        del worker.buffer[:size]
        return payload

    @staticmethod
    def _read_line(worker: _Worker, deadline: float) -> bytes | None:
        """The next protocol line; b"" at EOF; None when ``deadline`` passes first."""
        fd = worker.process.popen.stdout.fileno()
        while b"\n" not in worker.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            if not select.select([fd], [], [], left)[0]:
                continue
            chunk = os.read(fd, 4096)
            if not chunk:
                return b""
            worker.buffer += chunk
            if len(worker.buffer) > 64 * MAX_LINE and b"\n" not in worker.buffer:
                worker.buffer.clear()  # garbage without newlines: drop it
        line, _, rest = bytes(worker.buffer).partition(b"\n")
        worker.buffer[:] = rest
        return line + b"\n"
