"""Resource limits for one sandboxed process tree."""
from __future__ import annotations

from dataclasses import dataclass

GiB = 1024 ** 3
MiB = 1024 ** 2


@dataclass(frozen=True)
class Limits:
    """What one sandbox may use.

    cpu_seconds:   RLIMIT_CPU per process (the kernel sends SIGXCPU, then SIGKILL).
    wall_seconds:  wall-clock limit on the whole sandbox, enforced by the trusted parent.
    memory_bytes:  RLIMIT_AS per process (address space; allocations past it fail).
    processes:     RLIMIT_NPROC for the sandbox's own uid; threads count too (nbclient plus a
                   kernel use about 20), so a fork bomb stops at this many spinning processes.
    output_bytes:  RLIMIT_FSIZE (largest file a process may write) and the cap on captured
                   stdout/stderr; beyond it output is drained and dropped.
    open_files:    RLIMIT_NOFILE.
    tmpfs_bytes:   size of each fresh tmpfs given to the sandbox (/tmp, /var/tmp, /dev/shm).
    """

    cpu_seconds: int = 120
    wall_seconds: float = 180.0
    memory_bytes: int = 4 * GiB
    processes: int = 96
    output_bytes: int = 16 * MiB
    open_files: int = 256
    tmpfs_bytes: int = 256 * MiB

    def __post_init__(self):
        for name in ("cpu_seconds", "wall_seconds", "memory_bytes", "processes", "output_bytes", "open_files", "tmpfs_bytes"):
            if getattr(self, name) <= 0:
                raise ValueError(f"Limits.{name} must be positive, got {getattr(self, name)!r}")
