"""Hidden checks for the quiz: one point per question."""
import pytest

from grader.checks.support import add_quiz_checks

pytestmark = pytest.mark.grade_cell("quiz_tests")

add_quiz_checks(globals(), {
    "q1": ("b", "the shape and row order of weight_ih"),
    "q2": ("c", "how many windows make_windows returns"),
    "q3": ("c", "what carries gradients across many steps"),
    "q4": ("b", "why the split is chronological"),
})
