"""Launch a command isolated from the host: own namespaces, own uid, resource limits.

``unshare --mount --net --pid --fork --kill-child --mount-proc`` gives the command fresh
mount, network and pid namespaces; ``_bootstrap.py`` (trusted, run as root as pid 1 there)
hides the course, the grader and $HOME behind empty tmpfs mounts, binds back read-only only
what student code needs (the Python installation, ``utils``), brings up loopback, sets the
rlimits and drops to a uid of this sandbox's own before exec'ing the command.

The parent enforces wall time: killing the process group kills ``unshare``, whose death kills
the namespace's pid 1 (``--kill-child``), and the kernel then kills every process left in the
namespace. Output is drained continuously and capped, so a student printing gigabytes neither
fills memory nor blocks.

Requirements: Linux, root (CI and grading machines run as root), ``unshare`` from util-linux.
Without them ``SandboxUnavailable`` is raised; nothing ever runs unsandboxed.
"""
from __future__ import annotations

import functools
import json
import os
import pwd
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from .limits import Limits
from .slots import UidSlot

BOOTSTRAP = Path(__file__).resolve().parent / "_bootstrap.py"
UNSHARE_FLAGS = ("--mount", "--net", "--pid", "--fork", "--kill-child", "--mount-proc")
FRESH_TMPFS = ("/tmp", "/var/tmp", "/dev/shm", "/run/lock")
HOST_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
PASSTHROUGH_ENV = ("UTILS_DEVICE", "LANG", "LC_ALL", "TZ")
MEMORY_WORDS = ("MemoryError", "Unable to allocate", "Cannot allocate memory", "std::bad_alloc", "out of memory")


class SandboxUnavailable(RuntimeError):
    """The sandbox cannot run on this machine (not root, no ``unshare``, namespaces refused)."""


@functools.lru_cache(maxsize=1)
def sandbox_unavailable_reason() -> str | None:
    """Why the sandbox cannot run here, or None when it can (probed once per process)."""
    if not sys.platform.startswith("linux"):
        return f"the sandbox needs Linux namespaces; this is {sys.platform}"
    if os.geteuid() != 0:
        return ("the sandbox needs root (it creates namespaces and mounts and switches student code to an "
                "unprivileged uid); run grading as root, as CI and the grading machines do")
    unshare = shutil.which("unshare", path=HOST_PATH)
    if unshare is None:
        return "the 'unshare' command (util-linux) is not installed"
    try:
        probe = subprocess.run([unshare, *UNSHARE_FLAGS, "true"], capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"'unshare {' '.join(UNSHARE_FLAGS)} true' failed: {exc}"
    if probe.returncode != 0:
        return f"'unshare {' '.join(UNSHARE_FLAGS)} true' exited {probe.returncode}: {probe.stderr.decode(errors='replace').strip()}"
    return None


def require_sandbox() -> None:
    """Raise ``SandboxUnavailable`` with the reason unless the sandbox can run here."""
    reason = sandbox_unavailable_reason()
    if reason is not None:
        raise SandboxUnavailable(reason)


class OutputDrain:
    """Reads a pipe to its end on a thread, keeping only the first ``cap`` bytes."""

    def __init__(self, stream, cap: int):
        self._fd = stream.fileno()
        self._stream = stream
        self.cap = cap
        self.data = bytearray()
        self.total = 0
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while True:
            try:
                chunk = os.read(self._fd, 1 << 16)
            except OSError:
                break
            if not chunk:
                break
            self.total += len(chunk)
            room = self.cap - len(self.data)
            if room > 0:
                self.data += chunk[:room]
        self._stream.close()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    @property
    def truncated(self) -> bool:
        return self.total > len(self.data)

    def text(self) -> str:
        note = f"\n[... output truncated: {self.total - len(self.data)} more bytes dropped]" if self.truncated else ""
        return bytes(self.data).decode("utf-8", errors="replace") + note


class Workspace:
    """A fresh host directory for one sandboxed process, plus the uid it runs as.

    Layout: ``base/`` (root, 0755, read-only inside) holds files the trusted side puts there;
    ``base/home/`` (the sandbox uid, 0700) is HOME, TMPDIR's parent and the working directory.
    The trusted side writes only into root-owned directories, so student code cannot redirect
    those writes with symlinks.
    """

    def __init__(self, parent: Path | None = None):
        require_sandbox()
        self._slot = UidSlot()
        self.uid, self.gid = self._slot.uid, self._slot.gid
        self.base = Path(tempfile.mkdtemp(prefix="grader-sandbox-", dir=parent))
        os.chmod(self.base, 0o755)
        self.writable: list[Path] = []
        self.home = self.add_dir("home", writable=True)
        self.add_dir("home/tmp", writable=True)

    def add_dir(self, relative: str, writable: bool = False) -> Path:
        """A directory in the workspace; ``writable`` ones belong to the sandbox uid (mode 0700)."""
        path = self.base / relative
        path.mkdir(mode=0o700 if writable else 0o755)
        if writable:
            os.chown(path, self.uid, self.gid)
            if not any(path.is_relative_to(w) for w in self.writable):
                self.writable.append(path)
        else:
            os.chmod(path, 0o755)
        return path

    def add_file(self, relative: str, content: bytes | str) -> Path:
        """A root-owned, world-readable file in a root-owned directory of the workspace."""
        path = self.base / relative
        data = content.encode() if isinstance(content, str) else content
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        return path

    def cleanup(self) -> None:
        shutil.rmtree(self.base, ignore_errors=True)  # fd-based: never follows student symlinks
        self._slot.release()


def _default_python_path(expose: Sequence[Path]) -> list[str]:
    """Parents of exposed package directories (a dir with ``__init__.py``), e.g. ``utils``'s parent."""
    out = []
    for p in expose:
        if (p / "__init__.py").is_file() and str(p.parent) not in out:
            out.append(str(p.parent))
    return out


def jail_environment(workspace: Workspace, python_path: Sequence[str], extra: dict | None = None) -> dict:
    """The whole environment of the jailed command: nothing inherited but a few locale/device keys."""
    home = str(workspace.home)
    bins = []
    for exe in (sys.executable, os.path.realpath(sys.executable)):
        d = os.path.dirname(exe)
        if d not in bins:
            bins.append(d)
    env = {
        "PATH": ":".join(bins + ["/usr/local/bin", "/usr/bin", "/bin"]),
        "HOME": home,
        "TMPDIR": f"{home}/tmp",
        "USER": "student",
        "LOGNAME": "student",
        "LANG": "C.UTF-8",
        "JUPYTER_CONFIG_DIR": f"{home}/.jupyter",
        "JUPYTER_DATA_DIR": f"{home}/.local/share/jupyter",
        "JUPYTER_RUNTIME_DIR": f"{home}/.local/share/jupyter/runtime",
        "JUPYTER_PLATFORM_DIRS": "1",
        "IPYTHONDIR": f"{home}/.ipython",
        "MPLCONFIGDIR": f"{home}/.matplotlib",
        "XDG_CACHE_HOME": f"{home}/.cache",
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "PYTHONHASHSEED": "0",
        "PYTHONIOENCODING": "utf-8",
        "PYTHONPATH": ":".join(python_path),
    }
    for key in PASSTHROUGH_ENV:
        if key in os.environ and key not in ("LANG",):
            env[key] = os.environ[key]
    env.update(extra or {})
    return env


def _interpreter_paths() -> list[str]:
    """The Python installation the jailed command runs on (always readable: it is no secret)."""
    return [sys.prefix, sys.base_prefix, os.path.dirname(os.path.dirname(os.path.realpath(sys.executable)))]


def _hidden_defaults() -> list[str]:
    homes = {os.path.realpath(os.path.expanduser("~")), os.path.realpath(pwd.getpwuid(0).pw_dir)}
    return sorted(h for h in homes if h != "/")


def _abs(paths: Iterable[Path | str]) -> list[str]:
    out = []
    for p in paths:
        s = os.path.realpath(os.path.abspath(str(p)))
        if s != "/" and s not in out:
            out.append(s)
    return out


@dataclass
class JailResult:
    """How a jailed command ended, and what it printed (each stream capped at ``output_bytes``)."""

    returncode: int | None  # exit status; -N when killed by signal N; None when we killed it on timeout
    signal: str | None  # e.g. "SIGKILL"
    timed_out: bool
    out_of_memory: bool  # a guess: MemoryError-like text in stderr, or a fatal signal near the memory limit
    stdout: str
    stderr: str
    wall_seconds: float
    max_rss_bytes: int | None = None

    def describe(self) -> str:
        """One line for a report: how it ended."""
        if self.timed_out:
            return f"killed after the wall-time limit ({self.wall_seconds:.1f} s)"
        if self.signal:
            extra = " (probably out of memory)" if self.out_of_memory else ""
            return f"killed by {self.signal}{extra}"
        extra = " (MemoryError: out of memory)" if self.out_of_memory else ""
        return f"exited with status {self.returncode}{extra}"


class JailedProcess:
    """One command running in the jail. ``interactive=True`` leaves stdin/stdout as raw pipes
    (a protocol channel); otherwise stdout is drained and capped like stderr."""

    def __init__(self, workspace: Workspace, argv: Sequence[str], *, hide: Iterable[Path] = (), expose: Iterable[Path] = (),
                 limits: Limits = Limits(), python_path: Sequence[str] | None = None, env: dict | None = None,
                 interactive: bool = False):
        require_sandbox()
        self.workspace = workspace
        self.limits = limits
        expose = [Path(p) for p in _abs(list(expose) + _interpreter_paths())]
        status_r, status_w = os.pipe()
        config = {
            "status_fd": status_w,
            "hide": _abs(list(hide)) + _hidden_defaults(),
            "fresh": list(FRESH_TMPFS),
            "expose": [str(p) for p in expose] + [str(workspace.base)],
            "writable": [str(p) for p in workspace.writable],
            "tmpfs_bytes": limits.tmpfs_bytes,
            "wall_seconds": limits.wall_seconds,
            "uid": workspace.uid,
            "gid": workspace.gid,
            "rlimits": {
                "RLIMIT_CPU": int(limits.cpu_seconds),
                "RLIMIT_AS": int(limits.memory_bytes),
                "RLIMIT_NPROC": int(limits.processes),
                "RLIMIT_FSIZE": int(limits.output_bytes),
                "RLIMIT_NOFILE": int(limits.open_files),
                "RLIMIT_CORE": 0,
            },
            "cwd": str(workspace.home),
            "argv": [str(a) for a in argv],
            "env": jail_environment(workspace, _default_python_path(expose) if python_path is None else list(python_path), env),
        }
        unshare = shutil.which("unshare", path=HOST_PATH)
        command = [unshare, *UNSHARE_FLAGS, sys.executable, "-I", "-S", str(BOOTSTRAP), json.dumps(config)]
        self.started = time.monotonic()
        self.deadline = self.started + limits.wall_seconds
        self._killed = False
        try:
            self.popen = subprocess.Popen(
                command, stdin=subprocess.PIPE if interactive else subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, pass_fds=(status_w,), start_new_session=True,
                env={"PATH": HOST_PATH, "LANG": "C.UTF-8"})
        finally:
            os.close(status_w)
        self._status_r = status_r
        self._status_lines: list[str] | None = None
        self.stderr = OutputDrain(self.popen.stderr, limits.output_bytes)
        self.stdout = None if interactive else OutputDrain(self.popen.stdout, limits.output_bytes)

    # ------------------------------------------------------------------ lifetime
    def remaining(self) -> float:
        """Seconds of wall time left before the parent kills the sandbox."""
        return self.deadline - time.monotonic()

    def alive(self) -> bool:
        return self.popen.poll() is None

    def wait(self, timeout: float | None) -> bool:
        """Wait up to ``timeout`` seconds; True when the process has ended."""
        try:
            self.popen.wait(timeout)
            return True
        except subprocess.TimeoutExpired:
            return False

    def kill(self) -> None:
        """Kill the whole sandbox now (idempotent)."""
        if self.popen.poll() is None:
            self._killed = True
            try:
                os.killpg(self.popen.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.popen.wait()

    def close(self) -> None:
        """Kill if still running and release the pipes (the workspace stays for the owner)."""
        self.kill()
        raw = [self.popen.stdin] + ([self.popen.stdout] if self.stdout is None else [])
        for stream in raw:
            if stream is not None and not stream.closed:
                try:
                    stream.close()
                except OSError:
                    pass
        self.stderr.join(5)
        if self.stdout is not None:
            self.stdout.join(5)
        self._read_status()
        if self._status_r is not None:
            os.close(self._status_r)
            self._status_r = None

    def _read_status(self) -> list[str]:
        if self._status_lines is None and self.popen.poll() is not None and self._status_r is not None:
            chunks = []
            while select.select([self._status_r], [], [], 0.5)[0]:
                chunk = os.read(self._status_r, 4096)
                if not chunk:
                    break
                chunks.append(chunk)
            self._status_lines = b"".join(chunks).decode(errors="replace").splitlines()
        return self._status_lines or []

    def setup_error(self) -> str | None:
        """The bootstrap's message when the sandbox itself could not be set up."""
        for line in self._read_status():
            if line.startswith("error "):
                return line[len("error "):]
        return None

    def result(self, timed_out: bool = False) -> JailResult:
        """How it ended; call after the process has ended (``kill()`` first on timeout)."""
        self.close()
        wall = time.monotonic() - self.started
        setup = self.setup_error()
        if setup is not None:
            raise SandboxUnavailable(setup)
        returncode, signame, max_rss = None, None, None
        for line in self._read_status():
            parts = line.split()
            if not parts:
                continue
            if parts[0] == "timeout":
                timed_out = True
            elif parts[0] == "exit":
                returncode = int(parts[1])
            elif parts[0] == "signal":
                num = int(parts[1])
                returncode = -num
                signame = _signal_name(num)
            if "maxrss" in parts:
                max_rss = int(parts[parts.index("maxrss") + 1]) * 1024
        if returncode is None and not timed_out and not self._killed:
            returncode = self.popen.returncode
        if self._killed and returncode is None:
            signame = "SIGKILL"
        stderr = self.stderr.text()
        stdout = self.stdout.text() if self.stdout is not None else ""
        oom = _looks_out_of_memory(stderr, signame, max_rss, self.limits, killed_by_us=self._killed)
        return JailResult(returncode, signame, timed_out, oom, stdout, stderr, wall, max_rss)


def _signal_name(num: int) -> str:
    try:
        return signal.Signals(num).name
    except ValueError:
        return f"signal {num}"


def _looks_out_of_memory(stderr: str, signame: str | None, max_rss: int | None, limits: Limits, killed_by_us: bool) -> bool:
    if any(word in stderr[-20000:] for word in MEMORY_WORDS):
        return True
    if killed_by_us or signame not in ("SIGKILL", "SIGSEGV", "SIGBUS", "SIGABRT"):
        return False
    if signame == "SIGKILL":
        return True  # not our timeout kill: the kernel's OOM killer (RLIMIT_CPU ends with SIGXCPU first)
    return max_rss is not None and max_rss > 0.5 * limits.memory_bytes


def run(argv: Sequence[str], *, hide: Iterable[Path] = (), expose: Iterable[Path] = (), limits: Limits = Limits(),
        files: dict[str, bytes | str] | None = None, python_path: Sequence[str] | None = None,
        env: dict | None = None) -> JailResult:
    """Run ``argv`` to completion in a fresh jail and workspace (``files`` are placed in the
    workspace's read-only base dir first; ``{base}`` / ``{home}`` in argv are filled in)."""
    require_sandbox()
    workspace = Workspace()
    try:
        for name, content in (files or {}).items():
            workspace.add_file(name, content)
        argv = [str(a).format(base=workspace.base, home=workspace.home) for a in argv]
        proc = JailedProcess(workspace, argv, hide=hide, expose=expose, limits=limits, python_path=python_path, env=env)
        finished = proc.wait(limits.wall_seconds)
        if not finished:
            proc.kill()
        return proc.result(timed_out=not finished)
    finally:
        workspace.cleanup()
