"""Hidden checks for the quiz (4 points, one per question)."""
import pytest

pytestmark = pytest.mark.grade_cell("quiz_tests")
ANSWERS = {"q1": "b", "q2": "a", "q3": "c", "q4": "c"}


def answer(student, q):
    answers = student.get("quiz_answers")
    assert isinstance(answers, dict), "quiz_answers must be a dictionary like {\"q1\": \"a\", ...}"
    value = answers.get(q)
    assert isinstance(value, str), f"no answer for {q}"
    return value.strip().lower().strip("()")


@pytest.mark.points(1)
def test_q1(student):
    """Quiz q1: why ReLU trains faster than tanh"""
    assert answer(student, "q1") == ANSWERS["q1"], "q1 is not right"


@pytest.mark.points(1)
def test_q2(student):
    """Quiz q2: the size after a 3x3/2 max-pool on 13x13"""
    assert answer(student, "q2") == ANSWERS["q2"], "q2 is not right"


@pytest.mark.points(1)
def test_q3(student):
    """Quiz q3: where AlexNet's parameters are"""
    assert answer(student, "q3") == ANSWERS["q3"], "q3 is not right"


@pytest.mark.points(1)
def test_q4(student):
    """Quiz q4: dropout in evaluation mode"""
    assert answer(student, "q4") == ANSWERS["q4"], "q4 is not right"
