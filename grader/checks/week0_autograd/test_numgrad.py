"""Hidden checks for Exercise 4, ``numerical_gradient`` (2 points).

``f(a) = sum(w * a**3) / 3 + sum(sin(a))`` (``cubic_sine`` in ``utils.checks.week0_autograd``),
whose exact gradient is ``w * a**2 + cos(a)``; the weights and points are the grader's.
"""
import numpy as np
import pytest

from grader.checks.support import array, close, waves

pytestmark = pytest.mark.grade_cell("numgrad_tests")


def run(student, shape, phase):
    weights, x = waves(shape, phase, np.float64), 1.5 * waves(shape, phase + 0.8, np.float64)
    grad, after = student.call("grader_probe", "numgrad", weights, x)
    return array(grad), array(after), weights * x ** 2 + np.cos(x), x


@pytest.mark.points(1)
def test_central_difference_accuracy(student):
    """Accuracy: agrees with the exact gradient to about 1e-9, as a central difference does"""
    grad, _, exact, _ = run(student, (4, 3), 0.25)
    assert grad.shape == exact.shape, "the gradient does not have x's shape"
    assert close(grad, exact, 1e-8, 1e-8), "the gradient is not accurate enough for a central difference (one-sided? a factor of 2?)"


@pytest.mark.points(1)
def test_any_shape_and_x_restored(student):
    """Any shape: a 3-D and a 1-D input, each left exactly as it was"""
    for shape in ((2, 3, 2), (5,)):
        grad, after, exact, x = run(student, shape, 1.1)
        assert np.array_equal(after, x), "x was changed by the call: put every entry back after using it"
        assert grad.shape == exact.shape and close(grad, exact, 1e-6, 1e-6), f"wrong gradient for an input of shape {shape}"
