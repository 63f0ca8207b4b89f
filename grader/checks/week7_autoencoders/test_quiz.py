"""Hidden checks for the quiz: one point per question."""
import pytest

from grader.checks.support import add_quiz_checks

pytestmark = pytest.mark.grade_cell("quiz_tests")

add_quiz_checks(globals(), {
    "q1": ("c", "standard deviations from log-variances"),
    "q2": ("c", "sampling outside the graph"),
    "q3": ("a", "when the KL term is zero"),
    "q4": ("b", "what a denoising autoencoder learns"),
})
