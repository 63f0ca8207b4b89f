"""Hidden checks for Exercise 1, ``unbroadcast`` (2 points): shapes the visible check never used."""
import numpy as np
import pytest

from grader.checks.support import array, close, waves

pytestmark = pytest.mark.grade_cell("unbroadcast_tests")


def expected(grad, shape):
    """Sum of the copies, computed by looping over the output's entries (the slow, obvious way)."""
    out = np.zeros(shape)
    padded = (1,) * (grad.ndim - len(shape)) + tuple(shape)
    for index in np.ndindex(grad.shape):
        target = tuple(0 if n == 1 else i for i, n in zip(index, padded))[grad.ndim - len(shape):]
        out[target] += grad[index]
    return out


def run(student, grad_shape, shape, phase):
    grad = waves(grad_shape, phase, np.float64)
    got = array(student.call("unbroadcast", grad, tuple(shape)))
    assert got.shape == tuple(shape), f"a gradient of shape {grad_shape} came back with shape {got.shape}, not {tuple(shape)}"
    assert close(got, expected(grad, shape), rtol=1e-12, atol=1e-12), \
        f"wrong values for a gradient of shape {grad_shape} summed back to {tuple(shape)}"


@pytest.mark.points(1)
def test_added_leading_axes(student):
    """Leading axes: axes that broadcasting added in front are summed away (down to a scalar)"""
    for k, (grad_shape, shape) in enumerate((((3, 2, 5), (2, 5)), ((3, 2, 5), (5,)), ((4, 3), ()), ((2, 1, 6), (6,)))):
        run(student, grad_shape, shape, 0.4 + k)


@pytest.mark.points(1)
def test_stretched_size_one_axes(student):
    """Size-1 axes: axes of size 1 that broadcasting stretched are summed with the size kept, the rest untouched"""
    for k, (grad_shape, shape) in enumerate((((3, 2, 5), (3, 1, 5)), ((3, 2, 5), (1, 2, 1)), ((2, 5), (2, 5)), ((4, 3, 2), (3, 1)))):
        run(student, grad_shape, shape, 1.7 + k)
