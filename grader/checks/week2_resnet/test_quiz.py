"""Hidden checks for the multiple-choice quiz (4 points, one per question)."""
import pytest

pytestmark = pytest.mark.grade_cell("quiz_tests")
KEY = {"q1": "c", "q2": "b", "q3": "a", "q4": "d"}


def answer(student, question):
    answers = student.get("quiz_answers")
    if not isinstance(answers, dict):
        raise AssertionError("quiz_answers must be a dict like {'q1': 'a', ...}")
    return str(answers.get(question, "")).strip().lower()


@pytest.mark.points(1)
def test_q1(student):
    """Quiz question 1"""
    assert answer(student, "q1") == KEY["q1"], "question 1: not the right choice"


@pytest.mark.points(1)
def test_q2(student):
    """Quiz question 2"""
    assert answer(student, "q2") == KEY["q2"], "question 2: not the right choice"


@pytest.mark.points(1)
def test_q3(student):
    """Quiz question 3"""
    assert answer(student, "q3") == KEY["q3"], "question 3: not the right choice"


@pytest.mark.points(1)
def test_q4(student):
    """Quiz question 4"""
    assert answer(student, "q4") == KEY["q4"], "question 4: not the right choice"
