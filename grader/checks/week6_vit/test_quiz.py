"""Hidden checks for the quiz (4 points, one per question)."""
import pytest

pytestmark = pytest.mark.grade_cell("quiz_tests")
ANSWERS = {"q1": "b", "q2": "b", "q3": "c", "q4": "b"}


def answer(student, key):
    answers = student.get("quiz_answers")
    assert isinstance(answers, dict), "quiz_answers should be a dict such as {'q1': 'a', ...}"
    return str(answers.get(key, "")).strip().lower().strip("()")


@pytest.mark.points(1)
def test_q1(student):
    """q1: tokens for a 32x32 image in 4x4 patches"""
    assert answer(student, "q1") == ANSWERS["q1"], "q1 is not right"


@pytest.mark.points(1)
def test_q2(student):
    """q2: shuffled patches without position embeddings"""
    assert answer(student, "q2") == ANSWERS["q2"], "q2 is not right"


@pytest.mark.points(1)
def test_q3(student):
    """q3: the layer a patch projection equals"""
    assert answer(student, "q3") == ANSWERS["q3"], "q3 is not right"


@pytest.mark.points(1)
def test_q4(student):
    """q4: why ViTs need more data"""
    assert answer(student, "q4") == ANSWERS["q4"], "q4 is not right"
