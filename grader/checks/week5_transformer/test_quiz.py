"""Hidden checks for the quiz (10 points, one per question)."""
import pytest

pytestmark = pytest.mark.grade_cell("quiz_tests")
KEY = {"q1": "b", "q2": "b", "q3": "c", "q4": "b", "q5": "a", "q6": "d", "q7": "b", "q8": "a", "q9": "c", "q10": "d"}


def answer(student, q):
    answers = student.get("quiz_answers")
    assert isinstance(answers, dict), "quiz_answers must be a dictionary such as {'q1': 'a', ...}"
    return str(answers.get(q, "")).strip().lower().strip("()")


def check(student, q):
    assert answer(student, q) == KEY[q], f"{q}: not the expected answer"


@pytest.mark.points(1)
def test_q1(student):
    """q1: why scores are divided by sqrt(d_k)"""
    check(student, "q1")


@pytest.mark.points(1)
def test_q2(student):
    """q2: the mask convention"""
    check(student, "q2")


@pytest.mark.points(1)
def test_q3(student):
    """q3: where cross-attention takes queries, keys and values"""
    check(student, "q3")


@pytest.mark.points(1)
def test_q4(student):
    """q4: why the decoder uses a causal mask"""
    check(student, "q4")


@pytest.mark.points(1)
def test_q5(student):
    """q5: teacher forcing"""
    check(student, "q5")


@pytest.mark.points(1)
def test_q6(student):
    """q6: self-attention without positions"""
    check(student, "q6")


@pytest.mark.points(1)
def test_q7(student):
    """q7: the cost of self-attention"""
    check(student, "q7")


@pytest.mark.points(1)
def test_q8(student):
    """q8: pre-norm and post-norm"""
    check(student, "q8")


@pytest.mark.points(1)
def test_q9(student):
    """q9: the size of one head"""
    check(student, "q9")


@pytest.mark.points(1)
def test_q10(student):
    """q10: greedy decoding"""
    check(student, "q10")
