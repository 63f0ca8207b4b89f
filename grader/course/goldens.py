"""``python -m grader goldens``: the expected outputs of the visible checks, stored as data.

A visible check that needs a reference answer's outputs does not ship the reference: the
week's check module defines ``golden_cases(namespace) -> {key: array}``, which runs its
fixed cases (fixed inputs, fixed weights loaded by name) through the implementations found
in ``namespace``. This tool executes the reference answers of ``solutions/<week>/`` (the
``setup`` cells and answer cells, in notebook order, as the grader runs them) in a fresh
namespace, calls ``golden_cases`` on it and writes ``utils/checks/goldens/<week>.npz``.
The checks then run the same cases on the student's classes and compare.
"""
from __future__ import annotations

import contextlib
import importlib
import io
from pathlib import Path

import nbformat
import numpy as np

from . import Course, GraderError
from ..pipeline.answers import program_cells


def golden_weeks(course: Course) -> list[str]:
    """The weeks whose visible-check module defines ``golden_cases``."""
    weeks = []
    for week in course.weeks():
        try:
            module = importlib.import_module(f"utils.checks.{week}")
        except ImportError:
            continue
        if callable(getattr(module, "golden_cases", None)):
            weeks.append(week)
    return weeks


def reference_namespace(course: Course, week: str) -> dict:
    """A fresh namespace holding what the reference notebook's setup and answer cells define."""
    nb = nbformat.read(course.solutions / week / course.notebook_name(week), as_version=4)
    namespace: dict = {"__name__": f"reference_{week}"}
    with contextlib.redirect_stdout(io.StringIO()):
        for label, source in program_cells(nb):
            try:
                exec(compile(source, f"{week} {label}", "exec"), namespace)
            except Exception as exc:  # noqa: BLE001 - named for the instructor
                raise GraderError(f"{week}: the reference cell {label} failed: {type(exc).__name__}: {exc}") from exc
    return namespace


def compute_goldens(course: Course, week: str) -> dict[str, np.ndarray]:
    module = importlib.import_module(f"utils.checks.{week}")
    if not callable(getattr(module, "golden_cases", None)):
        raise GraderError(f"utils/checks/{week}.py defines no golden_cases(namespace)")
    namespace = reference_namespace(course, week)
    np.random.seed(0)
    values = module.golden_cases(namespace)
    return {key: np.asarray(value) for key, value in values.items()}


def write_goldens(course: Course, weeks=None, out_dir: Path | None = None) -> list[Path]:
    """Compute and write ``<out_dir>/<week>.npz`` (default ``utils/checks/goldens``) for ``weeks``."""
    from utils.checks.stored import golden_path, save_goldens

    weeks = [course.check_week(w) for w in weeks] if weeks else golden_weeks(course)
    return [save_goldens(golden_path(week, out_dir), compute_goldens(course, week)) for week in weeks]
