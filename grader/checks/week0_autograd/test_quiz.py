"""Hidden checks for the quiz: one point per question."""
import pytest

from grader.checks.support import add_quiz_checks

pytestmark = pytest.mark.grade_cell("quiz_tests")

add_quiz_checks(globals(), {
    "q1": ("b", "the gradient a broadcast bias receives"),
    "q2": ("c", "the gradient of a matrix product with respect to its right operand"),
    "q3": ("b", "what an overwritten gradient does to x * x"),
    "q4": ("c", "reading a float32 gradient check"),
})
