"""Checks made before any student code runs: is this a notebook we can grade?

Each failure is a ``NotGradable`` with a status and a reason an instructor can act on;
the submission scores 0 and the batch goes on.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat

from .. import limits
from ..course import Course
from ..nbgrader_setup.cells import nbgrader_meta

FLAGS = ("grade", "solution", "locked")


class NotGradable(Exception):
    """A submission that cannot be graded, with a status word and a reason."""

    def __init__(self, status: str, reason: str):
        super().__init__(f"{status}: {reason}")
        self.status = status
        self.reason = reason


RESUBMIT = "ask the student to submit it again, saved from Jupyter"


def regrade(week: str, student: str) -> str:
    """The command that grades one submission again."""
    return f"`python -m grader autograde {week} --student {student}`"


def find_notebook(course: Course, week: str, student: str) -> Path:
    folder = course.submitted(student, week)
    expected = course.notebook_name(week)
    path = folder / expected
    link = _symbolic_link(course.root / "submitted", folder)
    if link is not None:  # whatever it points at would be read as the instructor: solutions, a classmate's work
        raise NotGradable("linked_notebook", f"{link} is a symbolic link, so the grader would read whatever it points "
                                             f"at as you; copy the student's own files there instead (or {RESUBMIT}), "
                                             f"then run {regrade(week, student)}")
    if path.is_file():
        return path
    others = sorted(p.name for p in folder.glob("*.ipynb")) if folder.is_dir() else []
    again = regrade(week, student)
    if others:
        raise NotGradable("renamed_notebook", f"expected {expected} but found {', '.join(others)}; rename it to "
                                              f"{expected} and run {again}")
    raise NotGradable("missing_notebook", f"no {expected} in {folder}: copy the student's notebook there under that "
                                          f"name (or {RESUBMIT}), then run {again}")


def _symbolic_link(top: Path, folder: Path) -> Path | None:
    """The first symbolic link among ``folder``, the folders from ``top`` down to it, and what it holds; or None."""
    chain = [folder, *[p for p in folder.parents if top in p.parents]]
    for path in reversed(chain):
        if path.is_symlink():
            return path
    if folder.is_dir():
        for inside, dirs, files in os.walk(folder):
            for name in sorted(dirs + files):
                if os.path.islink(os.path.join(inside, name)):
                    return Path(inside) / name
    return None


def read_notebook(path: Path, week: str = "<week>", student: str = "<id>"):
    again = regrade(week, student)
    size = path.stat().st_size
    if size > limits.MAX_NOTEBOOK_BYTES:
        raise NotGradable("invalid_notebook", f"the notebook is {size / 2**20:.0f} MiB, over the {limits.MAX_NOTEBOOK_BYTES / 2**20:.0f} "
                                              f"MiB limit (GRADER_limits.MAX_NOTEBOOK_BYTES): {RESUBMIT} with its outputs "
                                              f"cleared, then run {again}")
    raw = path.read_bytes()
    try:
        json.loads(raw)
    except ValueError as exc:
        where = f" (line {exc.lineno}, column {exc.colno})" if hasattr(exc, "lineno") else ""
        raise NotGradable("invalid_json", f"the file is not valid JSON{where}, so it was edited outside Jupyter or cut "
                                          f"short: {RESUBMIT}, then run {again}") from None
    try:
        nb = nbformat.reads(raw.decode("utf-8", errors="replace"), as_version=4)
        nbformat.validate(nb)
    except Exception as exc:
        raise NotGradable("invalid_notebook", f"the file is JSON but not a valid notebook "
                                              f"({str(exc).splitlines()[0][:200]}): {RESUBMIT}, then run {again}") from None
    return nb


def master_cells(course: Course, week: str) -> dict:
    """``{grade_id: (cell_type, metadata)}`` from the instructor's source notebook."""
    source = nbformat.read(course.solutions / week / course.notebook_name(week), as_version=4)
    return {m["grade_id"]: (c.cell_type, m) for c in source.cells if (m := nbgrader_meta(c)).get("grade_id")}


def find_tampering(nb, master: dict) -> list[str]:
    """Descriptions of nbgrader metadata that differs from the source notebook."""
    problems = []
    for index, cell in enumerate(nb.cells):
        raw = cell.get("metadata", {}).get("nbgrader")
        if raw is None:
            continue
        if not isinstance(raw, dict):
            problems.append(f"cell {index}: nbgrader metadata is not a mapping")
            continue
        gid = raw.get("grade_id")
        if gid is None:
            continue
        if gid not in master:
            problems.append(f"cell {index}: grade id {gid!r} is not part of this assignment")
            continue
        cell_type, meta = master[gid]
        if cell.cell_type != cell_type:
            problems.append(f"cell {gid!r}: type changed from {cell_type} to {cell.cell_type}")
        for flag in FLAGS:
            if bool(raw.get(flag)) != bool(meta.get(flag)):
                problems.append(f"cell {gid!r}: '{flag}' changed from {bool(meta.get(flag))} to {bool(raw.get(flag))}")
        if meta.get("grade") and _points(raw) != _points(meta):
            problems.append(f"cell {gid!r}: points changed from {meta.get('points')} to {raw.get('points')}")
    return problems


def _points(meta) -> float | None:
    try:
        return float(meta.get("points"))
    except (TypeError, ValueError):
        return None


def precheck(course: Course, week: str, student: str) -> Path:
    """The submitted notebook's path, or ``NotGradable`` saying why it cannot be graded."""
    path = find_notebook(course, week, student)
    nb = read_notebook(path, week, student)
    problems = find_tampering(nb, master_cells(course, week))
    if problems:
        more = f" (and {len(problems) - 2} more)" if len(problems) > 2 else ""
        raise NotGradable("tampered_metadata", "the notebook's grading metadata differs from the release: "
                          + "; ".join(problems[:2]) + more + ". Ask the student to paste their answers into a fresh copy "
                          f"of course/{week}/ and submit that, then run {regrade(week, student)}")
    return path
