"""Hidden checks for the quiz (4 points, one per question)."""
import pytest

pytestmark = pytest.mark.grade_cell("quiz_tests")
KEY = {"q1": "b", "q2": "c", "q3": "c", "q4": "b"}


def answer(student, q):
    answers = student.get("quiz_answers")
    assert isinstance(answers, dict), "quiz_answers must be a dict such as {'q1': 'a', ...}"
    value = answers.get(q)
    assert isinstance(value, str) and value.strip(), f"{q} has no answer"
    return value.strip().lower()


@pytest.mark.points(1)
def test_q1(student):
    """q1: the shape and row order of weight_ih"""
    assert answer(student, "q1") == KEY["q1"], "q1 is not right"


@pytest.mark.points(1)
def test_q2(student):
    """q2: how many windows make_windows returns"""
    assert answer(student, "q2") == KEY["q2"], "q2 is not right"


@pytest.mark.points(1)
def test_q3(student):
    """q3: what carries gradients across many steps"""
    assert answer(student, "q3") == KEY["q3"], "q3 is not right"


@pytest.mark.points(1)
def test_q4(student):
    """q4: why the split is chronological"""
    assert answer(student, "q4") == KEY["q4"], "q4 is not right"
