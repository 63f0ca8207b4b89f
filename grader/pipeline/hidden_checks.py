"""Run a week's hidden checks on one notebook and turn the results into scores.

The checks run in their own pytest process (``-p grader.checks.harness``) with a wall limit;
student code runs further away still, in the jail. Anything that goes wrong — pytest
crashing, timing out, a results file missing or malformed, a grade cell without
checks — scores that part 0 with a reason. Never full marks by default.
"""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat

from ..nbgrader_setup.config import state_environment
from ..limits import CHECKS_WALL
from ..records import CheckRun, RecordError, load
from ..nbgrader_setup.cells import grade_id, is_hidden_test_cell, nbgrader_meta

CHECKS_ROOT = Path(__file__).resolve().parents[1] / "checks"


@dataclass
class CellScore:
    grade_id: str
    max_points: float
    score: float = 0.0
    tests: list = field(default_factory=list)   # [{"name", "points", "passed", "message", "failure"}]
    reason: str = ""                             # why the cell scored 0 without running its tests


def checks_dir(week: str) -> Path:
    return CHECKS_ROOT / week


def cell_test_files(week: str, grade_id: str) -> list[Path]:
    """The week's hidden-check files whose tests count towards the cell ``grade_id``."""
    marker = f'grade_cell("{grade_id}")'
    return sorted(p for p in checks_dir(week).glob("test_*.py") if marker in p.read_text())


def hidden_cells(nb) -> dict:
    """``{grade_id: points}`` of the notebook's hidden-test cells, in order."""
    return {grade_id(c): float(nbgrader_meta(c).get("points", 0)) for c in nb.cells if is_hidden_test_cell(c)}


# pytest's own plugins that the checks never use, off: together with no traceback text (the harness
# writes the details it keeps itself) they were two thirds of pytest's time per submission. In
# particular ``unraisableexception`` runs a full garbage collection of the stage server's heap (nbgrader,
# SQLAlchemy) at the end of every session.
UNUSED_PLUGINS = ("cacheprovider", "unraisableexception", "doctest", "junitxml", "pastebin", "stepwise", "legacypath")
PYTEST_ENV = {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}  # installed plugins (xdist, anyio, ...) stay out too


def pytest_args(week: str, notebook: Path, course_root: Path, results: Path, tests=None) -> list[str]:
    """pytest's arguments for the week's hidden checks (or only the files ``tests``) on ``notebook``
    (run with ``PYTEST_ENV`` in the environment)."""
    unused = [arg for name in UNUSED_PLUGINS for arg in ("-p", f"no:{name}")]
    return [*[str(t) for t in (tests or [checks_dir(week)])], "-p", "grader.checks.harness", *unused,
            "--assert=plain", "--tb=no", "-q", "-o", "addopts=", "--rootdir", str(CHECKS_ROOT),
            "--submission", str(notebook), "--course-root", str(course_root), "--results", str(results)]


def run_checks_here(week: str, notebook: Path, course_root: Path, tests=None) -> CheckRun:
    """Run the hidden checks in this process (a stage server's): no new interpreter, pytest and the
    checks imported once per server. The caller enforces the wall limit (it kills the process)."""
    import pytest

    os.environ.update(PYTEST_ENV)  # this process only runs the checks and nbgrader: no plugin of its own
    forget_check_modules(week)
    with tempfile.TemporaryDirectory(prefix="grader-hidden-") as tmp:
        results = Path(tmp) / "results.json"
        code = pytest.main(pytest_args(week, notebook, course_root, results, tests))
        if not results.exists():
            return CheckRun(error=f"the hidden checks crashed before reporting (pytest exit {int(code)})")
        try:
            return load(CheckRun, results.read_text())
        except RecordError as exc:
            return CheckRun(error=f"the hidden checks wrote unreadable results ({exc})")


def forget_check_modules(week: str) -> None:
    """Drop the week's check modules from ``sys.modules``, so that the next run imports them afresh.

    pytest reuses a test module that is already imported, so on a stage server a module-level value
    (a cache, a record of the student's run) would reach the next student's checks. Re-importing the
    few check modules costs milliseconds; what they import (``utils``, pytest, nbgrader) stays loaded.
    """
    package = f"grader.checks.{week}"
    for name in [name for name in sys.modules if name == package or name.startswith(package + ".")]:
        del sys.modules[name]


def run_checks(week: str, notebook: Path, course_root: Path, timeout: float = CHECKS_WALL, tests=None) -> CheckRun:
    """Run pytest on ``grader/checks/<week>`` (or only the files ``tests``) against ``notebook``, in a
    pytest process of its own (for tools and tests; the pipeline asks its stage server instead)."""
    with tempfile.TemporaryDirectory(prefix="grader-hidden-") as tmp:
        results = Path(tmp) / "results.json"
        cmd = [sys.executable, "-m", "pytest", *pytest_args(week, notebook, course_root, results, tests)]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, start_new_session=True,
                                  env={**state_environment(Path(course_root) / ".grader"), **PYTEST_ENV})
        except subprocess.TimeoutExpired:
            return CheckRun(error=f"the hidden checks did not finish within {timeout:.0f} s")
        log = (proc.stdout + proc.stderr)[-4000:]
        if not results.exists():
            return CheckRun(error=f"the hidden checks crashed before reporting (exit {proc.returncode})", log=log)
        try:
            run = load(CheckRun, results.read_text())
        except RecordError as exc:
            return CheckRun(error=f"the hidden checks wrote unreadable results ({exc})", log=log)
        run.log = log
        return run


def score_cells(cells: dict, results: CheckRun) -> dict:
    """Scores per hidden-test cell from ``run_checks`` results: ``{grade_id: CellScore}``."""
    scores = {gid: CellScore(gid, pts) for gid, pts in cells.items()}
    if results.error:
        for s in scores.values():
            s.reason = results.error
        return scores
    for test in results.tests:
        cell = scores.get(test.grade_id)
        if cell is None:
            continue
        earned = float(test.points) if test.passed else 0.0
        cell.score += earned
        cell.tests.append({"name": test.name, "points": test.points, "passed": test.passed, "message": test.message,
                           "failure": test.failure})
    for cell in scores.values():
        declared = sum(t["points"] for t in cell.tests)
        if not cell.tests:
            cell.reason = "no hidden checks ran for this cell"
        elif abs(declared - cell.max_points) > 1e-9:
            # a misconfigured week must never hand out more (or silently fewer) points than the cell holds
            cell.reason = f"hidden checks declare {declared:g} points but the cell holds {cell.max_points:g}"
            cell.score = 0.0
        cell.score = max(0.0, min(cell.score, cell.max_points))
    return scores


def grade_hidden(week: str, notebook: Path, course_root: Path, server=None) -> tuple[dict, CheckRun]:
    """Run the checks (on ``server``, a ``grader.pipeline.stage_server.StageServer``, when given) and score
    every hidden-test cell of ``notebook``: ``({grade_id: CellScore}, CheckRun)``."""
    nb = nbformat.read(str(notebook), as_version=4)
    if server is None:
        run = run_checks(week, notebook, course_root)
    else:
        from ..records import StageRequest
        from .stage_server import StageDied, StageTimeout

        try:
            run = server.request(StageRequest("checks", str(course_root), week, notebook=str(notebook)),
                                 CHECKS_WALL)
        except StageTimeout:
            run = CheckRun(error=f"the hidden checks did not finish within {CHECKS_WALL:.0f} s")
        except StageDied as exc:
            run = CheckRun(error=f"the hidden checks crashed before reporting ({exc})", log=exc.log)
    return score_cells(hidden_cells(nb), run), run


def as_plain(scores: dict) -> dict:
    return {gid: asdict(s) for gid, s in scores.items()}
