"""Hidden checks for Exercise 2, the seven operations of ``Value`` (7 points, one per op).

Each op runs in the student's engine on grader-chosen float64 arrays; only its own
``_backward`` is called (no topological sort), onto operands that already hold a gradient, so
a rule that overwrites instead of adding shows. The reference is the library's ``Tensor``.
Tolerances are tight (1e-12 relative): a backward rule computed by finite differences fails.
"""
import numpy as np
import pytest

from grader.checks.support import array, close, waves
from grader.checks.week0_autograd import reference

pytestmark = pytest.mark.grade_cell("value_tests")
RTOL, ATOL = 1e-12, 1e-13


def check(student, op, arrays, upstream, same=False, kwargs=None, what=""):
    prior = [waves(np.shape(a), 2.9 + k, np.float64) for k, a in enumerate(arrays[:1] if same else arrays)]
    reply = student.call("grader_probe", "op", op, list(arrays), upstream, prior, same, dict(kwargs or {}))
    data, grads = reply
    ref_data, ref_grads = reference.op(op, arrays, upstream, prior, same, kwargs)
    label = f"`{op}`{what}"
    assert close(array(data), ref_data, RTOL, ATOL), f"{label}: the forward value is wrong"
    assert len(grads) == len(ref_grads), f"{label}: expected a gradient for each operand"
    for k, (got, want) in enumerate(zip(grads, ref_grads)):
        got = array(got)
        assert got.shape == want.shape, (f"{label}: the gradient of operand {k + 1} has shape {got.shape}, not its operand's "
                                         f"shape {want.shape} (broadcasting not undone?)")
        lost = want - prior[k]  # what an overwriting rule leaves: this op's contribution(s) only
        if close(got, lost, RTOL, ATOL) or (same and close(got, lost / 2, RTOL, ATOL)):
            raise AssertionError(f"{label}: the gradient already held by operand {k + 1} was overwritten, not added to (use +=)")
        assert close(got, want, RTOL, ATOL), f"{label}: the gradient of operand {k + 1} is wrong"


@pytest.mark.points(1)
def test_add(student):
    """add: broadcasting both ways, a scalar operand and x + x"""
    check(student, "add", [waves((2, 3, 4), 0.1, np.float64), waves((3, 1), 0.5, np.float64)], waves((2, 3, 4), 0.9, np.float64), what=" with broadcasting")
    check(student, "add", [waves((4, 1), 0.2, np.float64), waves((1, 5), 0.6, np.float64)], waves((4, 5), 1.0, np.float64), what=" (4, 1) + (1, 5)")
    check(student, "add", [waves((3, 2), 0.3, np.float64), np.array(0.7)], waves((3, 2), 1.1, np.float64), what=" with a scalar")
    check(student, "add", [waves((2, 5), 0.4, np.float64)], waves((2, 5), 1.2, np.float64), same=True, what=" of a Value with itself")


@pytest.mark.points(1)
def test_mul(student):
    """mul: broadcasting both ways and x * x"""
    check(student, "mul", [waves((4, 1, 3), 0.1, np.float64), waves((2, 3), 0.5, np.float64)], waves((4, 2, 3), 0.9, np.float64), what=" with broadcasting")
    check(student, "mul", [waves((5,), 0.3, np.float64), waves((2, 5), 0.8, np.float64)], waves((2, 5), 1.3, np.float64), what=" (5,) * (2, 5)")
    check(student, "mul", [waves((3, 3), 0.2, np.float64)], waves((3, 3), 1.4, np.float64), same=True, what=" of a Value with itself")


@pytest.mark.points(1)
def test_matmul(student):
    """matmul: rectangular matrices, a single row and column, and square ones"""
    check(student, "matmul", [waves((5, 3), 0.1, np.float64), waves((3, 2), 0.5, np.float64)], waves((5, 2), 0.9, np.float64), what=" (5, 3) @ (3, 2)")
    check(student, "matmul", [waves((1, 4), 0.2, np.float64), waves((4, 1), 0.6, np.float64)], waves((1, 1), 1.0, np.float64), what=" (1, 4) @ (4, 1)")
    check(student, "matmul", [waves((4, 4), 0.3, np.float64), waves((4, 4), 0.7, np.float64)], waves((4, 4), 1.1, np.float64), what=" (4, 4) @ (4, 4)")


@pytest.mark.points(1)
def test_sum(student):
    """sum: over everything, one axis, a negative axis with keepdims, and a tuple of axes"""
    x = waves((2, 3, 4), 0.4, np.float64)
    for kwargs, up_shape in (({}, ()), ({"axis": 0}, (3, 4)), ({"axis": -1, "keepdims": True}, (2, 3, 1)), ({"axis": (0, 2)}, (3,))):
        check(student, "sum", [x], waves(up_shape, 1.5, np.float64) if up_shape else np.array(1.7), kwargs=kwargs, what=f" with {kwargs or 'no arguments'}")


@pytest.mark.points(1)
def test_relu(student):
    """relu: gradient passes where the input is positive and stops where it is negative"""
    x = waves((3, 5), 0.8, np.float64)
    x[np.abs(x) < 1e-3] = 0.5  # no input at the kink
    check(student, "relu", [x], waves((3, 5), 1.6, np.float64) - 0.3)


@pytest.mark.points(1)
def test_exp(student):
    """exp: values and gradients in float64, including large and negative inputs"""
    check(student, "exp", [waves((3, 4), 0.9, np.float64) * 4.0], waves((3, 4), 1.7, np.float64))


@pytest.mark.points(1)
def test_log(student):
    """log: values and gradients for inputs from 0.05 to 20"""
    x = np.exp(np.linspace(np.log(0.05), np.log(20.0), 12)).reshape(4, 3)
    check(student, "log", [x], waves((4, 3), 1.8, np.float64))
