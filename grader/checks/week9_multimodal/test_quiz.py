"""Hidden checks for the quiz: one point per question."""
import pytest

from grader.checks.support import add_quiz_checks

pytestmark = pytest.mark.grade_cell("quiz_tests")

add_quiz_checks(globals(), {
    "q1": ("b", "the target of row i"),
    "q2": ("b", "what unnormalised embeddings allow"),
    "q3": ("c", "what sharpens the softmax"),
    "q4": ("c", "why both directions"),
})
