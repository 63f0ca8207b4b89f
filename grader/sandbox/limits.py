"""Resource limits for one jail (one sandboxed process tree)."""
from __future__ import annotations

from dataclasses import dataclass

GiB = 1024 ** 3
MiB = 1024 ** 2


@dataclass(frozen=True)
class Limits:
    """What one sandbox may use.

    cpu_seconds:   RLIMIT_CPU per process (the kernel sends SIGXCPU, then SIGKILL).
    wall_seconds:  wall-clock limit on the whole jail, enforced by the trusted parent.
    memory_bytes:  RLIMIT_AS per process (address space; allocations past it fail), and the memory of the
                   whole jail (its tmpfs files included) through its cgroup where the memory controller
                   can be had (see ``fair_share``): however many processes it forks, no more.
    processes:     processes and threads the whole jail may hold at once: its cgroup's pids.max
                   where cgroups can be had, and RLIMIT_NPROC counted inside the jail's own user
                   namespace (nbclient plus a kernel use about 20 threads), so a fork bomb stops here.
    cpus:          CPU quota of the whole jail, in CPUs, through its cgroup where cgroups can be had
                   (see ``fair_share``): however many processes it starts, it gets no more.
    output_bytes:  RLIMIT_FSIZE (largest file a process may write) and the cap on captured
                   stdout/stderr; beyond it output is drained and dropped.
    open_files:    RLIMIT_NOFILE.
    tmpfs_bytes:   size of each fresh tmpfs of the jail (its home, /tmp, /dev/shm); all of them
                   vanish with the jail, none is on the host's disk.
    """

    cpu_seconds: int = 120
    wall_seconds: float = 180.0
    memory_bytes: int = 4 * GiB
    processes: int = 96
    cpus: float = 1.0
    output_bytes: int = 16 * MiB
    open_files: int = 256
    tmpfs_bytes: int = 256 * MiB

    def __post_init__(self):
        for name in ("cpu_seconds", "wall_seconds", "memory_bytes", "processes", "cpus", "output_bytes", "open_files",
                     "tmpfs_bytes"):
            if getattr(self, name) <= 0:
                raise ValueError(f"Limits.{name} must be positive, got {getattr(self, name)!r}")
