"""Build nbgrader cells with the right metadata (schema version 3).

For writing or extending a week's source notebook from Python; in Jupyter the same
metadata is set with nbgrader's "Create Assignment" toolbar. Roles are described in
``grader.nbgrader_setup.cells``.
"""
from __future__ import annotations

import nbformat

SCHEMA_VERSION = 3
KERNELSPEC = {"display_name": "Python 3", "language": "python", "name": "python3"}


def _meta(grade_id: str, *, grade: bool, solution: bool, locked: bool, points: float | None = None, tags=()) -> dict:
    nbg = {"schema_version": SCHEMA_VERSION, "grade_id": grade_id, "grade": grade, "solution": solution, "locked": locked}
    if points is not None:
        nbg["points"] = points
    meta = {"nbgrader": nbg}
    if tags:
        meta["tags"] = list(tags)
    return meta


def markdown(grade_id: str, text: str):
    """Read-only prose."""
    return nbformat.v4.new_markdown_cell(text.strip(), metadata=_meta(grade_id, grade=False, solution=False, locked=True))


def readonly(grade_id: str, code: str, tags=()):
    """Read-only code: setup (tag ``setup``), visible checks (tag ``check``), training, plots."""
    return nbformat.v4.new_code_cell(code.strip(), metadata=_meta(grade_id, grade=False, solution=False, locked=True, tags=tags))


def answer(grade_id: str, code: str):
    """An autograded answer: code between ``### BEGIN SOLUTION`` / ``### END SOLUTION`` becomes a stub."""
    return nbformat.v4.new_code_cell(code.strip(), metadata=_meta(grade_id, grade=False, solution=True, locked=False))


def hidden_tests(grade_id: str, points: float, exercise: str):
    """The graded cell whose score the hidden checks in ``grader/checks/<week>/`` decide.

    In the release it holds only a comment; during grading it evaluates to ``0.0``, so
    nbgrader alone never awards its points (fail closed); the grader writes the real score.
    """
    code = (
        f"# Hidden checks for {exercise}: {points:g} points, run by the grader outside this notebook.\n"
        "# Make the visible check above pass first; these test other shapes and edge cases.\n"
        "### BEGIN HIDDEN TESTS\n0.0\n### END HIDDEN TESTS"
    )
    return nbformat.v4.new_code_cell(code, metadata=_meta(grade_id, grade=True, solution=False, locked=True, points=points))


def free_response(grade_id: str, points: float, model_answer: str):
    """A markdown answer graded by hand in formgrader; the model answer is removed on release."""
    return nbformat.v4.new_markdown_cell(model_answer.strip(), metadata=_meta(grade_id, grade=True, solution=True, locked=False, points=points))


def new_notebook(cells):
    nb = nbformat.v4.new_notebook(cells=list(cells))
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata["language_info"] = {"name": "python"}
    return nb
