"""Helpers for the tests that run commands as other Unix users (``test_rootless``, ``test_exchange``)."""
from __future__ import annotations

import os
import stat
from pathlib import Path

NEEDED = ("useradd", "userdel", "runuser", "unshare", "mount")  # the tools those tests need (they skip without)


def _closed_to_others(path: Path) -> Path | None:
    """The first directory on the way to ``path`` that others may not enter, or None."""
    for parent in [*reversed(path.parents), path]:
        if parent.is_dir() and not os.stat(parent).st_mode & stat.S_IXOTH:
            return parent
    return None


def reopen_closed_dirs(paths) -> str:
    """Shell lines that cover each closed directory with a tmpfs holding only the needed children."""
    lines, staged = [], {}
    for path in paths:
        closed = _closed_to_others(path)
        if closed is None or closed == path:
            continue
        child = closed / path.relative_to(closed).parts[0]
        staged.setdefault(closed, set()).add(child)
    for n, (closed, children) in enumerate(staged.items()):
        stage = f"/run/grader-rootless-{os.getpid()}-{n}"
        lines += [f"mkdir -p {stage}", f"mount --bind {closed} {stage}", f"mount -t tmpfs -o mode=0755 tmpfs {closed}"]
        for child in sorted(children):
            lines += [f"mkdir -p {child}", f"mount --bind {stage}/{child.name} {child}"]
        lines += [f"umount -l {stage}", f"rmdir {stage}"]
    return "\n".join(lines)
