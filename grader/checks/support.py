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


# ---------------------------------------------------------------------- behaviour, not self-reports
# A module's checks give it weights the grader chose (load_state_dict, the public API) and
# compare what it computes with a reference built from those same arrays. What the module
# says about itself (its names and shapes) only tells where to put each array: a module that
# lies about them cannot load them, and one that ignores them computes something else.
def reported_layout(student, class_name: str, init_kwargs: dict) -> dict:
    """``{parameter name: shape}`` in the module's registration order (addresses, never values)."""
    res = student.module(class_name, init_kwargs, [], method="__repr__")
    return {name: tuple(info.shape) for name, info in res.parameters.items()}


def assign_by_shape(reported: dict, roles: list, what: str) -> dict:
    """``{role: reported name}``: each role (``(role, shape)``, in the reference's order) gets the
    student's parameter of the same shape; parameters sharing a shape keep their relative order.

    Raises AssertionError (a student-facing message) when the shapes do not match one to one.
    """
    by_shape: dict = {}
    for name, shape in reported.items():
        by_shape.setdefault(tuple(shape), []).append(name)
    wanted: dict = {}
    for role, shape in roles:
        wanted.setdefault(tuple(shape), []).append(role)
    if sorted((s, len(v)) for s, v in by_shape.items()) != sorted((s, len(v)) for s, v in wanted.items()):
        extra = sorted(set(by_shape) - set(wanted))
        missing = sorted(set(wanted) - set(by_shape))
        detail = f"; unexpected shapes {extra[:3]}" if extra else ""
        detail += f"; missing shapes {missing[:3]}" if missing else ""
        raise AssertionError(f"the parameters do not match {what} (their number or shapes differ{detail})")
    return {role: name for shape, roles_ in wanted.items() for role, name in zip(roles_, by_shape[shape])}


def weight_set(roles: list, phase: float, scale: float = 0.5) -> dict:
    """``{role: array}``: deterministic float64 values per role (``(role, shape)``), different for each ``phase``."""
    return {role: scale * waves(shape, phase + 0.37 * k, np.float64) / np.sqrt(max(1, int(np.prod(shape[1:]) if len(shape) > 1 else 1)))
            for k, (role, shape) in enumerate(roles)}


def moved(first, second) -> bool:
    """True when two outputs differ: the module's answer follows the weights it was given."""
    first, second = np.asarray(first, dtype=np.float64), np.asarray(second, dtype=np.float64)
    return first.shape != second.shape or not np.allclose(first, second, rtol=1e-6, atol=1e-9)
