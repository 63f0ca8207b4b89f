"""Which paths student code may read in the jail, and which it must never see.

The jail is an allow-list (``grader.sandbox.jail``): besides the system's ``/usr``, it shows
only the ``expose`` paths, read-only: the Python installation and the ``utils`` package that
student code imports. ``hide`` names what must stay out of sight even so: the course root
(solutions, release, submissions, gradebook), the source tree holding the grader and its
hidden checks, and $HOME; where one lies inside an exposed path, the jail covers it.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path


def jail_paths(course_root: Path) -> tuple[list[Path], list[Path]]:
    """``(hide, expose)`` lists of absolute paths for ``grader.sandbox``."""
    import grader
    import utils

    grader_dir = Path(grader.__file__).resolve().parent
    expose = _dedupe([
        Path(sys.prefix).resolve(),
        Path(sys.base_prefix).resolve(),
        Path(os.path.realpath(sys.executable)).parent.parent,
        Path(utils.__file__).resolve().parent,
    ])
    hide = [Path(course_root).resolve(), Path(os.path.expanduser("~")).resolve(), grader_dir]
    checkout = grader_dir.parent
    if not any(_inside(checkout, e) for e in expose):  # a source checkout, not site-packages
        hide.insert(1, checkout)
    return _dedupe(hide), expose


def _inside(path: Path, parent: Path) -> bool:
    return path == parent or parent in path.parents


def _dedupe(paths):
    out = []
    for p in paths:
        if p not in out:
            out.append(p)
    return out
