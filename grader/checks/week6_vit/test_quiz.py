"""Hidden checks for the quiz: one point per question."""
import pytest

from grader.checks.support import add_quiz_checks

pytestmark = pytest.mark.grade_cell("quiz_tests")

add_quiz_checks(globals(), {
    "q1": ("b", "tokens for a 32x32 image in 4x4 patches"),
    "q2": ("b", "shuffled patches without position embeddings"),
    "q3": ("c", "the layer a patch projection equals"),
    "q4": ("b", "why ViTs need more data"),
})
