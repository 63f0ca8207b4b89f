"""Hidden checks for the quiz: one point per question."""
import pytest

from grader.checks.support import add_quiz_checks

pytestmark = pytest.mark.grade_cell("quiz_tests")

add_quiz_checks(globals(), {
    "q1": ("b", "why ReLU trains faster than tanh"),
    "q2": ("a", "the size after a 3x3/2 max-pool on 13x13"),
    "q3": ("c", "where AlexNet's parameters are"),
    "q4": ("c", "dropout in evaluation mode"),
})
