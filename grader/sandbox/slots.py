"""A uid/gid of its own for every live sandbox on this machine.

RLIMIT_NPROC counts processes per uid, so two sandboxes sharing a uid could starve each
other (a fork bomb in one would stop the other from starting threads). Each sandbox holds an
exclusive ``flock`` on one slot file for its whole life; the slot number picks the uid.
"""
from __future__ import annotations

import fcntl
import os
import random
import tempfile
from pathlib import Path

FIRST_UID = 200_000
SLOT_COUNT = 10_000


def slot_dir() -> Path:
    """Root-only directory holding the slot lock files."""
    path = Path(tempfile.gettempdir()) / "grader-sandbox-slots"
    path.mkdir(mode=0o700, exist_ok=True)
    st = path.lstat()
    if st.st_uid != os.geteuid() or not path.is_dir() or path.is_symlink():
        raise RuntimeError(f"{path} exists but is not a directory owned by uid {os.geteuid()}; remove it")
    return path


def _has_processes(uid: int) -> bool:
    """True when any process runs with real uid ``uid``."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            if os.stat(f"/proc/{entry}").st_uid == uid:
                return True
        except OSError:
            pass
    return False


class UidSlot:
    """An exclusively held uid for one sandbox. Release with ``release()`` (idempotent)."""

    def __init__(self):
        directory = slot_dir()
        start = random.randrange(SLOT_COUNT)
        for i in range(SLOT_COUNT):
            slot = (start + i) % SLOT_COUNT
            fd = os.open(directory / f"{slot}.lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            if _has_processes(FIRST_UID + slot):  # leftovers of a sandbox whose parent died: skip
                os.close(fd)
                continue
            self._fd = fd
            self.uid = self.gid = FIRST_UID + slot
            return
        raise RuntimeError(f"all {SLOT_COUNT} sandbox uid slots are in use")

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)  # closing drops the flock
            self._fd = None
