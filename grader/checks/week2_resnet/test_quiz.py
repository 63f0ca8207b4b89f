"""Hidden checks for the quiz: one point per question."""
import pytest

from grader.checks.support import add_quiz_checks

pytestmark = pytest.mark.grade_cell("quiz_tests")

add_quiz_checks(globals(), {
    "q1": ("c", "what BatchNorm2d blends into running_var"),
    "q2": ("b", "when a shortcut needs a 1x1 convolution"),
    "q3": ("a", "a block whose residual branch is zero"),
    "q4": ("d", "what BatchNorm2d uses in evaluation mode"),
})
