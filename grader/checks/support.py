"""Small helpers shared by the hidden checks (trusted side only)."""
from __future__ import annotations

import numpy as np

from utils.backend import asnumpy
from utils.checks.quiz import normalise_letter


def array(value) -> np.ndarray:
    """A float64 NumPy array from what the student returned (raises AssertionError if impossible)."""
    if value is None:
        raise AssertionError("your function returned None: is a `return` missing?")
    try:
        return np.asarray(asnumpy(value), dtype=np.float64)
    except (TypeError, ValueError):
        raise AssertionError(f"your function returned a {type(value).__name__}, not an array or Tensor") from None


def pair(value, what: str = "(output, weights)"):
    """Unpack a 2-tuple result or fail with a student-facing message."""
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise AssertionError(f"expected the function to return a tuple {what}")
    return value


def close(received, expected, rtol: float = 1e-4, atol: float = 1e-5) -> bool:
    """Same shape and all entries within tolerance (NaN never matches)."""
    received, expected = np.asarray(received), np.asarray(expected)
    return received.shape == expected.shape and bool(np.all(np.abs(received - expected) <= atol + rtol * np.abs(expected)))


def waves(shape, phase: float, dtype=np.float32) -> np.ndarray:
    """Deterministic, non-degenerate test values of ``shape`` (no RNG involved)."""
    n = int(np.prod(shape))
    return (np.sin(np.arange(n) * 0.61 + phase) * 1.3 + np.cos(np.arange(n) * 0.17) * 0.4).reshape(shape).astype(dtype)


def quiz_answer(student, question: str) -> str:
    """The student's letter for ``question`` from their ``quiz_answers`` dict, normalised ("(B) " -> "b")."""
    answers = student.get("quiz_answers")
    assert isinstance(answers, dict), 'quiz_answers must be a dictionary such as {"q1": "a", ...}'
    return normalise_letter(answers.get(question, ""))


def add_quiz_checks(namespace: dict, key: dict, points: float = 1) -> None:
    """Add a hidden check worth ``points`` per quiz question to a test module's ``namespace``.

    ``key`` maps a question (``"q1"``) to ``(right letter, topic shown in feedback)``.
    """
    for question, (letter, topic) in key.items():
        namespace[f"test_quiz_{question}"] = _quiz_check(question, letter, topic, points)


def _quiz_check(question: str, letter: str, topic: str, points: float):
    import pytest

    @pytest.mark.points(points)
    def check(student):
        assert quiz_answer(student, question) == letter, f"{question} is not right"

    check.__name__ = check.__qualname__ = f"test_quiz_{question}"
    check.__doc__ = f"Quiz {question}: {topic}"
    return check
