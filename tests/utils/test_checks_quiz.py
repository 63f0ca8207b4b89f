"""The visible quiz check and the release's quiz template."""
import pytest

from grader.course import GraderError
from grader.course.generate import quiz_questions, quiz_template
from utils.checks import CheckFailed, show_result
from utils.checks.quiz import test_quiz_answered as quiz_answered


def messages(result):
    return {item.name: item.message for item in result.items if not item.passed}


def test_quiz_check_names_what_is_left_and_never_the_right_letter():
    result = quiz_answered({"q1": "(B) ", "q2": "?", "q3": "e", "q5": "a"}, questions=4)
    assert messages(result) == {
        "q2 answered": 'still "?": replace it with a, b, c or d',
        "q3 answered": '"e" is not one of a, b, c or d',
        "q4 answered": '"q4" is missing from quiz_answers',
        "no unknown questions": "the quiz has no q5: check the keys",
    }
    with pytest.raises(CheckFailed, match="Quiz: 4 of 5 checks failed"):
        show_result("Quiz", result)
    assert quiz_answered({"q1": "a", "q2": "D"}, questions=2).passed
    assert messages(quiz_answered(["a", "b"], questions=2)) == {
        "quiz_answers is a dictionary": 'got a list; write {"q1": "b", "q2": "a", ...}'}


def test_release_template_has_a_question_mark_per_question():
    solution = '### BEGIN SOLUTION\nquiz_answers = {"q1": "b", "q2": "a"}\n### END SOLUTION'
    assert quiz_questions(solution) == ["q1", "q2"]
    template = quiz_template([f"q{k}" for k in range(1, 11)])
    namespace = {}
    exec(template, namespace)
    assert namespace["quiz_answers"] == {f"q{k}": "?" for k in range(1, 11)}
    assert not quiz_answered(namespace["quiz_answers"], questions=10).passed
    with pytest.raises(GraderError, match="dict literal"):
        quiz_questions("answers = {}")
