"""The visible quiz check: every question has one of the offered letters.

It never says whether a letter is right; the hidden checks mark the answers after
submission. A letter is read as the grader reads it: case, spaces and brackets ignored.
"""
from __future__ import annotations

from .result import CheckItem, CheckResult


def normalise_letter(value) -> str:
    """``" (B) "`` -> ``"b"``: what the grader compares with the key."""
    return str(value).strip().lower().strip("()")


def test_quiz_answered(quiz_answers, questions: int, choices: str = "abcd") -> CheckResult:
    """One item per question ``q1 .. q<questions>``: answered with one letter of ``choices``.

    Args:
        quiz_answers: the student's dict, e.g. ``{"q1": "b", "q2": "?"}``.
        questions: how many questions the quiz has.
        choices: the letters each question offers.
    """
    title = "Quiz"
    if not isinstance(quiz_answers, dict):
        return CheckResult(title, [CheckItem("quiz_answers is a dictionary", False,
                                             f'got a {type(quiz_answers).__name__}; write {{"q1": "b", "q2": "a", ...}}')])
    offered = ", ".join(choices[:-1]) + f" or {choices[-1]}"
    items = []
    for k in range(1, questions + 1):
        question = f"q{k}"
        letter = normalise_letter(quiz_answers.get(question, ""))
        if question not in quiz_answers:
            message = f'"{question}" is missing from quiz_answers'
        elif letter in ("", "?"):
            message = f'still "{quiz_answers[question]}": replace it with {offered}'
        elif len(letter) != 1 or letter not in choices:
            message = f'"{quiz_answers[question]}" is not one of {offered}'
        else:
            message = ""
        items.append(CheckItem(f"{question} answered", not message, message))
    extra = sorted(set(map(str, quiz_answers)) - {f"q{k}" for k in range(1, questions + 1)})
    if extra:
        items.append(CheckItem("no unknown questions", False, f"the quiz has no {', '.join(extra)}: check the keys"))
    return CheckResult(title, items)
