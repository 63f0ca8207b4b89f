"""A CPU quota, a process limit and a memory limit for every jail, through the kernel's cgroups.

Namespaces hide the host; they do not share the CPU or the memory. A submission that forks
many spinning processes, each in a session of its own (``setsid()`` defeats ``nice`` and the
scheduler's autogroups), would take the machine from everyone graded beside it; one whose
children each allocate up to their own ``RLIMIT_AS`` (a per-process limit) would hold any
multiple of it, and the kernel's OOM killer would pick its victim anywhere on the machine. So
each jail gets a control group of its own with

- a CPU quota (``Limits.cpus`` CPUs' worth of time per period, whatever it forks),
- a process limit (``Limits.processes``; threads count), which holds even for processes
  of the root user, whom ``RLIMIT_NPROC`` does not bind, and
- a memory limit (``Limits.memory_bytes`` for the whole jail, its tmpfs files included; no
  swap), where the ``memory`` controller can be had: past it the kernel ends a process of
  that jail, never one outside it.

Where cgroups can be had:

- cgroup v1 (``/sys/fs/cgroup/cpu`` and ``/sys/fs/cgroup/pids`` mounted): as root;
- cgroup v2: as root, or under a delegated subtree named by ``GRADER_CGROUP`` (a cgroup
  directory this user may write, with the ``cpu`` and ``pids`` controllers, holding no
  processes; ``systemd-run --user --scope -p Delegate=yes`` makes one);
- nowhere else: an ordinary user on a cgroup-v1 host, or without delegation. Jails then run
  without a quota: ``fair_share_unavailable_reason()`` says why, and the per-process limits
  (CPU seconds, memory, ``RLIMIT_NPROC`` counted inside the jail's own user namespace) still hold.

All jails sit under one parent group, which the kernel's scheduler weighs against every other
process as one: left at its default weight, every jail on the machine together would get the
share of a single process (on a busy machine, rendering a notebook took 25 times longer jailed
than not). ``rebalance()`` therefore gives the parent the weight of as many processes as it
holds jails, each jail's quota still capping it.

The jail's first process joins its cgroup before ``bwrap`` starts (``procs_files()`` names the
files it writes its pid to), so every process it ever starts is counted from the beginning.
Each cgroup is named after the process that made it (``jail-PID-RANDOM``) and removed by it when
the jail ends; ``sweep_stale()`` removes those whose maker was killed first.
"""
from __future__ import annotations

import errno
import functools
import os
import signal
import time
import uuid
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
GROUP_NAME = "grader-jails"
PERIOD_US = 100_000
ENV_DELEGATED = "GRADER_CGROUP"


def _own_cgroup(controller: str | None) -> str:
    """This process's cgroup path for ``controller`` (None: the v2 hierarchy) from /proc/self/cgroup."""
    with open("/proc/self/cgroup") as fh:
        for line in fh:
            _, controllers, path = line.rstrip("\n").split(":", 2)
            if controller is None and controllers == "":
                return path
            if controller is not None and controller in controllers.split(","):
                return path
    raise LookupError(controller or "cgroup v2")


def _write(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, text.encode())
    finally:
        os.close(fd)


def _probe_dir(parent: Path) -> None:
    """Create and remove a child of ``parent``: raises OSError when this user cannot."""
    probe = parent / f"probe-{uuid.uuid4().hex[:8]}"
    probe.mkdir()
    probe.rmdir()


class _V1:
    """cgroup v1: one directory under the ``cpu`` and one under the ``pids`` hierarchy."""

    def __init__(self):
        self.parents = {}
        for controller in ("cpu", "pids", "memory"):
            mount = CGROUP_ROOT / controller
            if not (mount / "cgroup.procs").exists():
                if controller == "memory":
                    continue  # optional: the jail's processes still have RLIMIT_AS each
                raise OSError(errno.ENOENT, f"the cgroup v1 '{controller}' controller is not mounted at {mount}")
            parent = mount / _own_cgroup(controller).lstrip("/") / GROUP_NAME
            try:
                parent.mkdir(exist_ok=True)
                _probe_dir(parent)
            except OSError:
                if controller == "memory":
                    continue
                raise
            self.parents[controller] = parent

    def create(self, name: str, cpus: float, processes: int, memory: int) -> list[Path]:
        cpu, pids = self.parents["cpu"] / name, self.parents["pids"] / name
        cpu.mkdir()
        pids.mkdir()
        _write(cpu / "cpu.cfs_period_us", str(PERIOD_US))
        _write(cpu / "cpu.cfs_quota_us", str(max(1000, int(cpus * PERIOD_US))))
        _write(pids / "pids.max", str(processes))
        if "memory" not in self.parents:
            return [cpu, pids]
        mem = self.parents["memory"] / name
        mem.mkdir()
        _write(mem / "memory.limit_in_bytes", str(memory))
        if (mem / "memory.memsw.limit_in_bytes").exists():  # memory and swap together: no escape into swap
            _write(mem / "memory.memsw.limit_in_bytes", str(memory))
        return [cpu, pids, mem]

    def rebalance(self) -> None:
        parent = self.parents["cpu"]
        _write(parent / "cpu.shares", str(min(262144, 1024 * max(1, _jail_count(parent)))))


class _V2:
    """cgroup v2: one directory holding both controllers, under a parent with them enabled."""

    def __init__(self):
        delegated = os.environ.get(ENV_DELEGATED)
        if delegated:
            parent = Path(delegated)
        elif os.geteuid() == 0:
            parent = CGROUP_ROOT / GROUP_NAME
            parent.mkdir(exist_ok=True)
            _write(CGROUP_ROOT / "cgroup.subtree_control", "+cpu +pids")
            try:
                _write(CGROUP_ROOT / "cgroup.subtree_control", "+memory")
            except OSError:
                pass
        else:
            raise OSError(errno.EPERM, f"an ordinary user needs a delegated cgroup; name one in ${ENV_DELEGATED}")
        available = (parent / "cgroup.controllers").read_text().split()
        missing = {"cpu", "pids"} - set(available)
        if missing:
            raise OSError(errno.ENOENT, f"{parent} lacks the {' and '.join(sorted(missing))} controller(s)")
        _write(parent / "cgroup.subtree_control", "+cpu +pids")
        self.memory = "memory" in available
        if self.memory:  # optional: without it the jail's processes still have RLIMIT_AS each
            try:
                _write(parent / "cgroup.subtree_control", "+memory")
            except OSError:
                self.memory = False
        _probe_dir(parent)
        self.parents = {"v2": parent}

    def create(self, name: str, cpus: float, processes: int, memory: int) -> list[Path]:
        path = self.parents["v2"] / name
        path.mkdir()
        _write(path / "cpu.max", f"{max(1000, int(cpus * PERIOD_US))} {PERIOD_US}")
        _write(path / "pids.max", str(processes))
        if self.memory:
            _write(path / "memory.max", str(memory))
            if (path / "memory.swap.max").exists():
                _write(path / "memory.swap.max", "0")
        return [path]

    def rebalance(self) -> None:
        parent = self.parents["v2"]
        _write(parent / "cpu.weight", str(min(10000, 100 * max(1, _jail_count(parent)))))


def _jail_count(parent: Path) -> int:
    try:
        return sum(1 for p in parent.iterdir() if p.name.startswith("jail-") and p.is_dir())
    except OSError:
        return 1


def rebalance() -> None:
    """Weigh the jails' parent group as as many processes as it holds jails (best effort: a
    delegated parent's own weight may belong to its owner)."""
    backend = _backend()[0]
    if backend is None:
        return
    try:
        backend.rebalance()
    except OSError:
        pass


@functools.lru_cache(maxsize=1)
def _backend():
    """``(backend, None)`` or ``(None, reason)``; probed once per process."""
    if not CGROUP_ROOT.is_dir():
        return None, f"no cgroup file system at {CGROUP_ROOT}"
    v2 = (CGROUP_ROOT / "cgroup.controllers").exists()
    try:
        return (_V2() if v2 else _V1()), None
    except (OSError, LookupError) as exc:
        kind = "v2" if v2 else "v1"
        if isinstance(exc, PermissionError) or getattr(exc, "errno", None) in (errno.EACCES, errno.EPERM, errno.EROFS):
            who = "root" if kind == "v1" else f"root or a delegated subtree (${ENV_DELEGATED})"
            return None, f"this machine has cgroup {kind}, whose controllers only {who} may use ({exc})"
        return None, f"cgroup {kind} cannot be used here: {exc}"


def sweep_stale() -> int:
    """Remove the empty cgroups of jails whose creating process is gone (killed at a time limit
    before it could remove them itself); returns how many were removed."""
    backend = _backend()[0]
    removed = 0
    for parent in (backend.parents.values() if backend is not None else ()):
        try:
            entries = list(parent.iterdir())
        except OSError:
            continue
        for path in entries:
            parts = path.name.split("-")
            if len(parts) != 3 or parts[0] != "jail" or not parts[1].isdigit() or not path.is_dir():
                continue
            try:
                os.kill(int(parts[1]), 0)
                continue  # its creator still runs and will remove it
            except ProcessLookupError:
                pass
            except PermissionError:
                continue
            try:
                path.rmdir()  # fails while any process is still inside: then it is not stale yet
                removed += 1
            except OSError:
                pass
    return removed


def jail_memory_limited() -> bool:
    """True when each jail's cgroup also limits the memory of the whole jail (the ``memory`` controller)."""
    backend = _backend()[0]
    return backend is not None and ("memory" in backend.parents or getattr(backend, "memory", False))


def fair_share_unavailable_reason() -> str | None:
    """Why jails run without a CPU quota and process limit here, or None when they get them."""
    return _backend()[1]


class JailCgroup:
    """The cgroup(s) of one jail. ``procs_files()`` for the first process to join; ``kill()``
    ends everything still in them; ``remove()`` deletes them (after the jail has ended)."""

    def __init__(self, cpus: float, processes: int, memory: int = 4 * 1024 ** 3):
        backend, reason = _backend()
        if backend is None:
            raise RuntimeError(reason)
        sweep_stale()
        self.paths = backend.create(f"jail-{os.getpid()}-{uuid.uuid4().hex[:12]}", cpus, processes, memory)
        rebalance()

    @staticmethod
    def available() -> bool:
        return _backend()[0] is not None

    def procs_files(self) -> list[str]:
        return [str(p / "cgroup.procs") for p in self.paths]

    def pids(self) -> list[int]:
        out = set()
        for path in self.paths:
            try:
                out.update(int(x) for x in (path / "cgroup.procs").read_text().split())
            except OSError:
                pass
        return sorted(out)

    def kill(self) -> None:
        kill_file = self.paths[0] / "cgroup.kill"
        if kill_file.exists():
            try:
                _write(kill_file, "1")
                return
            except OSError:
                pass
        for _ in range(3):
            for pid in self.pids():
                try:
                    os.kill(pid, signal.SIGKILL)
                except (ProcessLookupError, PermissionError):
                    pass

    def remove(self, wait: float = 5.0) -> None:
        """Delete the cgroups, waiting up to ``wait`` seconds for the kernel to reap the last processes."""
        deadline = time.monotonic() + wait
        for path in self.paths:
            while True:
                try:
                    path.rmdir()
                    break
                except FileNotFoundError:
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        break  # left behind, empty soon; named after its jail so it cannot be reused
                    self.kill()
                    time.sleep(0.05)
        rebalance()
