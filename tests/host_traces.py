"""What a grading batch could leave on the host: IPC objects, processes, files, cgroups."""
import ctypes
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pytest

from grader.sandbox.fair_share import GROUP_NAME

PR_SET_CHILD_SUBREAPER = 36


def _sysv_objects() -> set[tuple[str, str]]:
    """(kind, id) of every System V IPC object on the host, as ``ipcs`` lists them."""
    out = set()
    for kind in ("shm", "msg", "sem"):
        with open(f"/proc/sysvipc/{kind}") as fh:
            next(fh)
            out |= {(kind, line.split()[1]) for line in fh if line.strip()}
    return out


def _living_children() -> list[str]:
    """``pid comm`` of this process's children that are not zombies."""
    out = []
    for task in os.listdir("/proc/self/task"):
        try:
            children = Path(f"/proc/self/task/{task}/children").read_text().split()
        except OSError:
            continue
        for pid in children:
            try:
                stat = Path(f"/proc/{pid}/stat").read_text()
            except OSError:
                continue
            if stat.rsplit(")", 1)[1].split()[0] != "Z":
                out.append(f"{pid} {stat.split('(', 1)[1].rsplit(')', 1)[0]}")
    return out


def _jail_cgroups() -> list[str]:
    """Jail cgroups whose maker is gone (``jail-PID-RANDOM``; a live maker still owns its own,
    perhaps in another grading run on this machine)."""
    found = []
    for parent in Path("/sys/fs/cgroup").glob(f"**/{GROUP_NAME}"):
        for path in parent.iterdir():
            parts = path.name.split("-")
            if path.is_dir() and len(parts) == 3 and parts[1].isdigit() and not Path(f"/proc/{parts[1]}").exists():
                found.append(str(path))
    return found


@contextmanager
def nothing_left_behind(tmp: Path):
    """Run a batch with ``tmp`` as everyone's temporary folder; afterwards assert that it left no
    IPC objects, no processes (orphans come back to this process, a subreaper meanwhile), no files
    in ``tmp``, no jail cgroups."""
    libc = ctypes.CDLL(None, use_errno=True)
    ipc_before, cgroups_before = _sysv_objects(), set(_jail_cgroups())
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    try:
        with pytest.MonkeyPatch.context() as env:
            env.setenv("TMPDIR", str(tmp))
            env.setattr(tempfile, "tempdir", str(tmp))
            yield
        left = {
            "System V IPC objects": sorted(_sysv_objects() - ipc_before),
            "processes": _living_children(),
            "files in the temporary folder": sorted(p.name for p in tmp.iterdir()),
            "cgroups": sorted(set(_jail_cgroups()) - cgroups_before),
        }
        assert not any(left.values()), f"the batch left things behind on the host: {left}"
    finally:
        libc.prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)
        while True:  # reap what came back to us
            try:
                if os.waitpid(-1, os.WNOHANG)[0] == 0:
                    break
            except ChildProcessError:
                break
