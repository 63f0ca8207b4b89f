"""Hidden checks for the quiz: one point per question."""
import pytest

from grader.checks.support import add_quiz_checks

pytestmark = pytest.mark.grade_cell("quiz_tests")

add_quiz_checks(globals(), {
    "q1": ("a", "which keys query 4 may attend to under a causal mask"),
    "q2": ("b", "the shape split_heads produces"),
    "q3": ("c", "cross-attention's weight shape and mask"),
    "q4": ("b", "parameters of multi-head attention"),
})
