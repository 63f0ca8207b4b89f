"""Run a command in an allow-list jail built with bubblewrap (``bwrap``).

What the command sees, by construction (nothing else of the host exists in its mount namespace):

- ``/usr`` and the ``/bin``, ``/lib*`` links (the system's programs and libraries), a few
  ``/etc`` files the dynamic loader needs, and a generated ``/etc/passwd``; all read-only;
- the exposed paths (the Python installation and the ``utils`` package), read-only, at their
  own paths; a hidden path (the course root, the grader, homes) that lies inside one of them is
  covered by an empty read-only directory (or file);
- the workspace's files (``Workspace``, written by the trusted side) read-only at ``/jail``;
- its home ``/home/student`` and the scratch areas ``/tmp`` and ``/dev/shm``: fresh tmpfs mounts
  of ``Limits.tmpfs_bytes`` each, gone with the jail (nothing it writes reaches the host's disk),
  holding only private copies of what the trusted side seeds there (``seed``: e.g. matplotlib's
  font list, see ``warm_caches``);
- a fresh ``/proc`` of its own PID namespace and a minimal ``/dev``.

It runs in new user, mount, PID, network (loopback only), IPC and UTS namespaces, as uid 1000
with no capabilities and ``no_new_privs``, unable to make further user namespaces, in a new
session. ``--die-with-parent`` and the PID namespace end every process it starts when it ends
or when the grader dies; its IPC objects die with its IPC namespace, its files with its tmpfs.
bwrap reads its arguments from a file descriptor, so ``/proc/1/cmdline`` names no host path.
Where the machine allows it, the jail also gets a cgroup with a CPU quota and a process limit
(``fair_share``). Inside, ``_bootstrap.py`` sets the rlimits, runs the command and reports its
fate on a pipe that the command cannot reach.

Works as root and as an ordinary user (bwrap makes an unprivileged user namespace). Without
``bwrap``, or where it cannot start (no Linux, user namespaces disabled),
``SandboxUnavailable`` says what to install; nothing ever runs unjailed.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
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

from .fair_share import JailCgroup
from .limits import Limits

BOOTSTRAP = Path(__file__).resolve().parent / "_bootstrap.py"
HOST_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
JAIL_INPUT = "/jail"  # the workspace's files, read-only
JAIL_HOME = "/home/student"
JAIL_UID = JAIL_GID = 1000
SCRATCH = (JAIL_HOME, "/tmp", "/dev/shm")
SYSTEM_LINKS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
SYSTEM_FILES = ("/etc/ld.so.cache", "/etc/ld.so.conf", "/etc/localtime")
NAMESPACES = ("--unshare-all", "--unshare-user", "--die-with-parent", "--new-session", "--cap-drop", "ALL",
              "--hostname", "sandbox")
NO_NESTED_USERNS = "--disable-userns"
PASSTHROUGH_ENV = ("UTILS_DEVICE", "LC_ALL", "TZ")
MEMORY_WORDS = ("MemoryError", "Unable to allocate", "Cannot allocate memory", "std::bad_alloc", "out of memory")
JOIN_CGROUP = 'for f in $GRADER_CGROUP_PROCS; do echo $$ > "$f" || exit 125; done; unset GRADER_CGROUP_PROCS; exec "$@"'
INSTALL_HINT = ("install bubblewrap (Debian/Ubuntu: `sudo apt-get install bubblewrap`; Fedora: `sudo dnf install "
                "bubblewrap`; Arch: `sudo pacman -S bubblewrap`), or grade on a Linux machine that has it")


class SandboxUnavailable(RuntimeError):
    """The jail cannot run on this machine (not Linux, no ``bwrap``, user namespaces refused)."""


def _bwrap() -> str | None:
    return shutil.which("bwrap", path=os.environ.get("PATH", "") + ":" + HOST_PATH)


def _probe(bwrap: str, extra: Sequence[str]) -> subprocess.CompletedProcess:
    command = [bwrap, *NAMESPACES, *extra, "--ro-bind", "/", "/", "--proc", "/proc", "--dev", "/dev",
               sys.executable, "-I", "-S", "-c", "pass"]
    return subprocess.run(command, capture_output=True, timeout=60, env={"PATH": HOST_PATH, "LANG": "C.UTF-8"})


@functools.lru_cache(maxsize=1)
def _namespace_flags() -> tuple[tuple[str, ...] | None, str | None]:
    """``(bwrap flags, None)`` when a jail can be made here, else ``(None, reason)``; probed once."""
    if not sys.platform.startswith("linux"):
        return None, (f"grading runs student code in a Linux jail (bubblewrap) and this is {sys.platform}: "
                      "grade on a Linux machine, or in a Linux virtual machine")
    bwrap = _bwrap()
    if bwrap is None:
        return None, f"student code runs in a bubblewrap jail, but `bwrap` is not installed: {INSTALL_HINT}"
    try:
        probe = _probe(bwrap, [NO_NESTED_USERNS])
        if probe.returncode == 0:
            return (bwrap, *NAMESPACES, NO_NESTED_USERNS), None
        probe = _probe(bwrap, [])  # an older bwrap or kernel: no --disable-userns
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"`bwrap` could not be started: {exc}"
    if probe.returncode == 0:
        return (bwrap, *NAMESPACES), None
    message = probe.stderr.decode(errors="replace").strip()
    return None, (f"`bwrap` cannot make a jail on this machine ({message or f'exit {probe.returncode}'}). It needs "
                  "unprivileged user namespaces: check `sysctl user.max_user_namespaces` (must be above 0), "
                  "`kernel.unprivileged_userns_clone=1` on older Debian kernels, and on Ubuntu 24.04 or later "
                  "the AppArmor setting `kernel.apparmor_restrict_unprivileged_userns`; inside a container, "
                  "run the grader on the host or in a virtual machine instead")


def sandbox_unavailable_reason() -> str | None:
    """Why the jail cannot run here, or None when it can (probed once per process)."""
    return _namespace_flags()[1]


sandbox_unavailable_reason.cache_clear = _namespace_flags.cache_clear  # tests reset the probe


def require_sandbox() -> None:
    """Raise ``SandboxUnavailable`` with the reason unless the jail can run here."""
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
    """The files the trusted side hands to one jail: a private host directory (``base``, mode
    0700), seen read-only at ``/jail`` inside. The jail writes nothing here; what it makes lives
    in its own tmpfs home (``JAIL_HOME``) and vanishes with it."""

    def __init__(self, parent: Path | None = None):
        require_sandbox()
        self.base = Path(tempfile.mkdtemp(prefix="grader-jail-", dir=parent))
        self.inside = Path(JAIL_INPUT)
        self.home = Path(JAIL_HOME)

    def add_dir(self, relative: str) -> Path:
        """A directory of the workspace (host path)."""
        path = self.base / relative
        path.mkdir(mode=0o755)
        return path

    def add_file(self, relative: str, content: bytes | str) -> Path:
        """A new file of the workspace (host path); ``jail_path`` gives its path inside."""
        path = self.base / relative
        data = content.encode() if isinstance(content, str) else content
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        return path

    def jail_path(self, host_path: Path | str) -> str:
        """Where a file of the workspace appears inside the jail."""
        return str(self.inside / Path(host_path).relative_to(self.base))

    def cleanup(self) -> None:
        shutil.rmtree(self.base, ignore_errors=True)


def _default_python_path(expose: Sequence[Path]) -> list[str]:
    """Parents of exposed package directories (a dir with ``__init__.py``), e.g. ``utils``'s parent."""
    out = []
    for p in expose:
        if (p / "__init__.py").is_file() and str(p.parent) not in out:
            out.append(str(p.parent))
    return out


def jail_environment(python_path: Sequence[str], extra: dict | None = None) -> dict:
    """The whole environment of the jailed command: nothing inherited but a few locale/device keys."""
    bins = []
    for exe in (sys.executable, os.path.realpath(sys.executable)):
        d = os.path.dirname(exe)
        if d not in bins:
            bins.append(d)
    home = JAIL_HOME
    env = {
        "PATH": ":".join(bins + ["/usr/local/bin", "/usr/bin", "/bin"]),
        "HOME": home,
        "TMPDIR": "/tmp",
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
        if key in os.environ:
            env[key] = os.environ[key]
    env.update(extra or {})
    return env


def _interpreter_paths() -> list[str]:
    """The Python installation the jailed command runs on (always readable: it is no secret)."""
    return [sys.prefix, sys.base_prefix, os.path.dirname(os.path.dirname(os.path.realpath(sys.executable)))]


def _hidden_defaults() -> list[str]:
    import pwd

    homes = {os.path.realpath(os.path.expanduser("~")), os.path.realpath(pwd.getpwuid(0).pw_dir)}
    return sorted(h for h in homes if h != "/")


def _abs(paths: Iterable[Path | str]) -> list[str]:
    out = []
    for p in paths:
        s = os.path.realpath(os.path.abspath(str(p)))
        if s != "/" and s not in out:
            out.append(s)
    return out


def _inside(path: str, parent: str) -> bool:
    return path == parent or path.startswith(parent.rstrip("/") + "/")


def _depth(path: str) -> int:
    return len([p for p in path.split("/") if p])


ETC_PASSWD = f"root:x:0:0::/:/usr/sbin/nologin\nstudent:x:{JAIL_UID}:{JAIL_GID}::{JAIL_HOME}:/bin/sh\n"
ETC_GROUP = f"root:x:0:\nstudent:x:{JAIL_GID}:\n"
ETC_HOSTS = "127.0.0.1 localhost sandbox\n::1 localhost\n"


def filesystem_args(workspace: Workspace, expose: Sequence[str], hide: Sequence[str], limits: Limits) -> list[str]:
    """bwrap's arguments that build the jail's whole file system (see the module docstring)."""
    args = ["--ro-bind", "/usr", "/usr"]
    for top in SYSTEM_LINKS:
        if os.path.islink(top):
            args += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            args += ["--ro-bind", top, top]
    for path in SYSTEM_FILES:
        if os.path.isfile(path):
            args += ["--ro-bind", path, path]
    etc = workspace.base / ".etc"
    if not etc.exists():
        etc.mkdir(mode=0o755)
        for name, text in (("passwd", ETC_PASSWD), ("group", ETC_GROUP), ("hosts", ETC_HOSTS), ("empty", "")):
            workspace.add_file(f".etc/{name}", text)
    for name in ("passwd", "group", "hosts"):
        args += ["--ro-bind", str(etc / name), f"/etc/{name}"]
    args += ["--proc", "/proc", "--dev", "/dev"]
    for path in SCRATCH:
        args += ["--size", str(limits.tmpfs_bytes), "--perms", "0700" if path == JAIL_HOME else "1777", "--tmpfs", path]
    ops = [(_depth(p), 0, p) for p in expose if os.path.exists(p)]
    ops += [(_depth(h), 1, h) for h in hide if os.path.lexists(h) and any(_inside(h, e) and h != e for e in expose)]
    for _, kind, path in sorted(ops):
        if kind == 0:
            args += ["--ro-bind", path, path]
        elif os.path.isdir(path):
            args += ["--size", "4096", "--tmpfs", path, "--remount-ro", path]
        else:
            args += ["--ro-bind", str(etc / "empty"), path]
    args += ["--ro-bind", str(workspace.base), JAIL_INPUT, "--chdir", JAIL_HOME,
             "--uid", str(JAIL_UID), "--gid", str(JAIL_GID)]
    return args


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
    (a protocol channel); otherwise stdout is drained and capped like stderr. With
    ``report=True`` the command also gets a pipe of its own for a report the trusted side reads
    (``{report_fd}`` in argv becomes its number); see ``report_bytes()``. ``seed`` maps paths
    in the jail's scratch areas (its home, ``/tmp``) to contents the jail starts with there:
    written by the trusted side into the workspace and copied into place inside the jail before
    the command starts, so each jail gets a private, writable copy (see ``warm_caches``)."""

    def __init__(self, workspace: Workspace, argv: Sequence[str], *, hide: Iterable[Path] = (), expose: Iterable[Path] = (),
                 limits: Limits = Limits(), python_path: Sequence[str] | None = None, env: dict | None = None,
                 interactive: bool = False, report: bool = False, seed: dict[str, bytes] | None = None):
        require_sandbox()
        flags = _namespace_flags()[0]
        self.workspace = workspace
        self.limits = limits
        exposed = _abs(list(expose) + _interpreter_paths())
        hidden = _abs(list(hide)) + _hidden_defaults()
        from .warm_caches import precompile

        precompile(Path(p) for p in exposed)  # the jail can only read bytecode, never write it
        if not (workspace.base / "_grader_bootstrap.py").exists():
            workspace.add_file("_grader_bootstrap.py", BOOTSTRAP.read_bytes())
        status_r, status_w = os.pipe()
        report_r, report_w = os.pipe() if report else (None, None)
        argv = [str(a).replace("{report_fd}", str(report_w)) for a in argv]
        config = {
            "status_fd": status_w,
            "keep_fds": [report_w] if report else [],
            "rlimits": {
                "RLIMIT_CPU": int(limits.cpu_seconds),
                "RLIMIT_AS": int(limits.memory_bytes),
                "RLIMIT_NPROC": int(limits.processes),
                "RLIMIT_FSIZE": int(limits.output_bytes),
                "RLIMIT_NOFILE": int(limits.open_files),
                "RLIMIT_CORE": 0,
            },
            "argv": argv,
            "seed": _seed_files(workspace, seed or {}),
        }
        options = [*flags[1:], *filesystem_args(workspace, exposed, hidden, limits)]
        args_file = tempfile.TemporaryFile()  # the options name host paths: bwrap reads them from a file, so
        args_file.write(b"".join(a.encode() + b"\0" for a in options))  # the jail's /proc/1/cmdline shows none
        args_file.seek(0)
        environment = jail_environment(_default_python_path([Path(p) for p in exposed]) if python_path is None
                                       else list(python_path), env)
        command = [flags[0], "--args", str(args_file.fileno()), "--",  # the command: paths inside the jail only
                   sys.executable, "-I", "-S", f"{JAIL_INPUT}/_grader_bootstrap.py", json.dumps(config)]
        self.cgroup = JailCgroup(limits.cpus, limits.processes, limits.memory_bytes) if JailCgroup.available() else None
        if self.cgroup is not None:
            command = ["/bin/sh", "-c", JOIN_CGROUP, "sh", *command]
            environment["GRADER_CGROUP_PROCS"] = " ".join(self.cgroup.procs_files())
        self.cgroup_files = self.cgroup.procs_files() if self.cgroup is not None else []
        self.started = time.monotonic()
        self.deadline = self.started + limits.wall_seconds
        self._killed = False
        fds = (status_w, args_file.fileno()) + ((report_w,) if report else ())
        try:
            self.popen = subprocess.Popen(
                command, stdin=subprocess.PIPE if interactive else subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, pass_fds=fds, start_new_session=True, env=environment)
        except BaseException:
            os.close(status_r)
            if report:
                os.close(report_r)
            if self.cgroup is not None:
                self.cgroup.remove()
            raise
        finally:
            os.close(status_w)
            if report:
                os.close(report_w)
            args_file.close()
        self._status_r = status_r
        self._status_lines: list[str] | None = None
        self.stderr = OutputDrain(self.popen.stderr, limits.output_bytes)
        self.stdout = None if interactive else OutputDrain(self.popen.stdout, limits.output_bytes)
        self.report = OutputDrain(os.fdopen(report_r, "rb"), 2 * limits.output_bytes) if report else None

    # ------------------------------------------------------------------ lifetime
    def remaining(self) -> float:
        """Seconds of wall time left before the parent kills the jail."""
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
        """Kill the whole jail now (idempotent)."""
        if self.popen.poll() is None:
            self._killed = True
            try:
                os.killpg(self.popen.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self.cgroup is not None:
            self.cgroup.kill()
        self.popen.wait()

    def close(self) -> None:
        """Kill if still running, release the pipes and the cgroup (the workspace stays for the owner)."""
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
        if self.report is not None:
            self.report.join(5)
        self._read_status()
        if self._status_r is not None:
            os.close(self._status_r)
            self._status_r = None
        if self.cgroup is not None:
            self.cgroup.remove()
            self.cgroup = None

    def report_bytes(self) -> bytes | None:
        """What the command wrote on its report pipe (after ``close()``); None when it overflowed."""
        if self.report is None or self.report.truncated:
            return None
        return bytes(self.report.data)

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
        """Why the jail itself could not be set up (bwrap's or the bootstrap's message), or None."""
        for line in self._read_status():
            if line.startswith("error "):
                return line[len("error "):]
        if not self._read_status() and not self._killed:
            lines = self.stderr.text().splitlines()
            bwrap_lines = [line for line in lines if line.startswith("bwrap:")]
            if bwrap_lines:
                return bwrap_lines[-1]
            if self.popen.returncode == 125 and self.cgroup_files:
                return f"the jail could not join its cgroup ({lines[-1] if lines else 'no message'})"
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
            if parts[0] == "exit":
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


def _seed_files(workspace: Workspace, seed: dict[str, bytes]) -> list[list[str]]:
    """Place each seeded content in the workspace; ``[[its path in the jail, destination], ...]``."""
    pairs = []
    for destination, content in seed.items():
        target = os.path.normpath(destination)
        if not any(_inside(target, area) and target != area for area in SCRATCH):
            raise ValueError(f"a seeded file must lie in the jail's scratch areas {SCRATCH}, not {destination!r}")
        data = content.encode() if isinstance(content, str) else bytes(content)
        name = f".seed-{hashlib.sha256(data).hexdigest()[:24]}"
        if not (workspace.base / name).exists():
            workspace.add_file(name, data)
        pairs.append([workspace.jail_path(workspace.base / name), target])
    return pairs


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
        env: dict | None = None, seed: dict[str, bytes] | None = None) -> JailResult:
    """Run ``argv`` to completion in a fresh jail and workspace (``files`` are placed in the
    workspace, read-only in the jail; ``{base}`` / ``{home}`` in argv become their paths in the jail)."""
    require_sandbox()
    workspace = Workspace()
    try:
        for name, content in (files or {}).items():
            workspace.add_file(name, content)
        argv = [str(a).format(base=JAIL_INPUT, home=JAIL_HOME) for a in argv]
        proc = JailedProcess(workspace, argv, hide=hide, expose=expose, limits=limits, python_path=python_path, env=env,
                             seed=seed)
        finished = proc.wait(limits.wall_seconds)
        if not finished:
            proc.kill()
        return proc.result(timed_out=not finished)
    finally:
        workspace.cleanup()
