"""``generate``: solutions/ -> course/ through nbgrader, output-free and deterministic."""
from __future__ import annotations

import ast

import nbformat

from . import Course, GraderError
from .deadlines import sync_due_date
from ..nbgrader_setup.cells import grade_id, is_answer_cell

QUIZ_GRADE_ID = "quiz"


def generate(course: Course, weeks=None) -> list:
    """Release each week (all by default); returns the written notebook paths.

    nbgrader replaces solutions by stubs, drops hidden-test blocks and records the
    source in the gradebook. We then rewrite each release notebook in a canonical form
    (no outputs, no execution counts, sorted keys) so a diff shows only real changes,
    and give the quiz cell a template to fill instead of nbgrader's bare stub.
    """
    written = []
    for week in weeks or course.weeks():
        course.check_week(week)
        result = course.api().generate_assignment(week, force=True)
        if not result["success"]:
            raise GraderError(f"nbgrader could not generate {week}:\n{result.get('error') or ''}\n{result.get('log') or ''}")
        sync_due_date(course, week)  # so nbgrader collect and formgrader see nbgrader_config.py's due date
        for path in sorted((course.release / week).glob("*.ipynb")):
            nb = nbformat.read(path, as_version=4)
            canonicalise(nb)
            fill_quiz_template(nb, nbformat.read(course.solutions / week / path.name, as_version=4))
            nbformat.write(nb, path)
            written.append(path)
    return written


def canonicalise(nb) -> None:
    """Strip outputs and execution counts in place."""
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None


def fill_quiz_template(release, source) -> None:
    """Replace the stub in the release's quiz cell by the answer dict with a ``"?"`` per question.

    The questions are the keys of ``quiz_answers`` in the source notebook's quiz cell.
    nbgrader's stub (``raise NotImplementedError()``) would stop the cell with an error that
    names nothing; the template runs, and the quiz's visible check says what is left.
    """
    answers = {grade_id(c): c.source for c in source.cells if is_answer_cell(c)}
    for cell in release.cells:
        if is_answer_cell(cell) and grade_id(cell) == QUIZ_GRADE_ID:
            cell.source = quiz_template(quiz_questions(answers[QUIZ_GRADE_ID]))


def quiz_questions(solution: str) -> list[str]:
    """The keys of the ``quiz_answers = {...}`` assignment in a quiz cell's solution."""
    for node in ast.parse(solution).body:
        if (isinstance(node, ast.Assign) and isinstance(node.value, ast.Dict)
                and any(isinstance(t, ast.Name) and t.id == "quiz_answers" for t in node.targets)):
            return [ast.literal_eval(key) for key in node.value.keys]
    raise GraderError("the quiz cell's solution must assign a dict literal to quiz_answers")


def quiz_template(questions: list[str]) -> str:
    """``quiz_answers = {"q1": "?", ...}``, five questions to a line."""
    entries = [f'"{q}": "?"' for q in questions]
    rows = [", ".join(entries[i:i + 5]) for i in range(0, len(entries), 5)]
    return "quiz_answers = {" + ",\n                ".join(rows) + "}"
