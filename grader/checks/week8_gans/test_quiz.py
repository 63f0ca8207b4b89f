"""Hidden checks for the quiz: one point per question."""
import pytest

from grader.checks.support import add_quiz_checks

pytestmark = pytest.mark.grade_cell("quiz_tests")

add_quiz_checks(globals(), {
    "q1": ("a", "why the discriminator's update detaches the fakes"),
    "q2": ("b", "the discriminator and its loss at equilibrium"),
    "q3": ("c", "which generator loss keeps a gradient early on"),
    "q4": ("c", "naming mode collapse"),
})
