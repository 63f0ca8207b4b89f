"""Hidden checks for the quiz: half a point per question (5 of the week's 25 points)."""
import pytest

from grader.checks.support import add_quiz_checks

pytestmark = pytest.mark.grade_cell("quiz_tests")

add_quiz_checks(globals(), {
    "q1": ("b", "why scores are divided by sqrt(d_k)"),
    "q2": ("b", "the mask convention"),
    "q3": ("c", "where cross-attention takes queries, keys and values"),
    "q4": ("b", "why the decoder uses a causal mask"),
    "q5": ("a", "teacher forcing"),
    "q6": ("d", "self-attention without positions"),
    "q7": ("b", "the cost of self-attention"),
    "q8": ("a", "pre-norm and post-norm"),
    "q9": ("c", "the size of one head"),
    "q10": ("d", "greedy decoding"),
}, points=0.5)
