"""Hidden checks for Exercise 1, ``lstm_cell_forward`` (3 points).

The visible check uses batch 2, input 3, hidden 4 in float32; these use other sizes
(batch size 1, one input feature), float64 with saturated gates, and gradients.
"""
import numpy as np
import pytest

from grader.checks.support import array, close, pair, waves
from grader.sandbox import AsTensor
from utils import Tensor
from utils.nn import LSTMCell

pytestmark = pytest.mark.grade_cell("lstm_cell_tests")
FN = "lstm_cell_forward"
NAMES = ("x", "h", "c", "weight_ih", "weight_hh", "bias_ih", "bias_hh")


def inputs(N, I, H, dtype=np.float32, scale=1.0):
    shapes = ((N, I), (N, H), (N, H), (4 * H, I), (4 * H, H), (4 * H,), (4 * H,))
    return [waves(shape, 0.9 * k + 0.3, dtype) * (scale if k < 3 else 1.0) for k, shape in enumerate(shapes)]


def reference_cell(args, requires_grad=False):
    x, h, c, w_ih, w_hh, b_ih, b_hh = args
    cell = LSTMCell(x.shape[1], h.shape[1], dtype=x.dtype)
    for name, value in zip(NAMES[3:], (w_ih, w_hh, b_ih, b_hh)):
        getattr(cell, name).data = value.copy()
    tx, th, tc = (Tensor(a, requires_grad=requires_grad, dtype=a.dtype) for a in (x, h, c))
    h_next, c_next = cell(tx, (th, tc))
    return cell, (tx, th, tc), h_next, c_next


def run(student, args):
    h_next, c_next = pair(student.call(FN, *(AsTensor(a) for a in args)), "(h_next, c_next)")
    return array(h_next), array(c_next)


@pytest.mark.points(1)
def test_other_shapes(student):
    """Other shapes: batch size 1, a single input feature, and hidden sizes 3 and 6"""
    for N, I, H in ((1, 2, 3), (5, 1, 6)):
        args = inputs(N, I, H)
        h_got, c_got = run(student, args)
        _, _, h_ref, c_ref = reference_cell(args)
        assert h_got.shape == (N, H) and c_got.shape == (N, H), f"h_next and c_next must have shape (N, H); wrong for N={N}, H={H}"
        assert close(c_got, c_ref.numpy()), f"c_next is wrong for N={N}, I={I}, H={H} (check the gate order i, f, g, o)"
        assert close(h_got, h_ref.numpy()), f"h_next is wrong for N={N}, I={I}, H={H}"


@pytest.mark.points(1)
def test_float64_saturated(student):
    """float64: large inputs that saturate the gates, compared at float64 precision"""
    args = inputs(3, 4, 2, dtype=np.float64, scale=6.0)
    h_got, c_got = run(student, args)
    _, _, h_ref, c_ref = reference_cell(args)
    assert np.isfinite(h_got).all() and np.isfinite(c_got).all(), "saturated gates produced NaN or inf"
    assert close(c_got, c_ref.numpy(), rtol=1e-10, atol=1e-12), "c_next lost float64 precision or is wrong with saturated gates"
    assert close(h_got, h_ref.numpy(), rtol=1e-10, atol=1e-12), "h_next lost float64 precision or is wrong with saturated gates"


@pytest.mark.points(1)
def test_gradients_flow(student):
    """Gradients: backward from h_next reaches the input, both states, both weights and both biases correctly"""
    args = inputs(2, 3, 5, dtype=np.float64)
    upstream = waves((2, 5), 1.7, np.float64)
    reply = student.call_with(FN, [AsTensor(a, requires_grad=True) for a in args], backward=upstream)
    grads = reply["input_grads"]
    cell, (tx, th, tc), h_ref, _ = reference_cell(args, requires_grad=True)
    h_ref.backward(upstream)
    expected = (tx.grad, th.grad, tc.grad, cell.weight_ih.grad, cell.weight_hh.grad, cell.bias_ih.grad, cell.bias_hh.grad)
    for name, got, ref in zip(NAMES, grads, expected):
        assert got is not None, f"no gradient reached {name}: use Tensor operations (not NumPy) inside the function"
        assert close(array(got), ref, rtol=1e-7, atol=1e-9), f"the gradient with respect to {name} is wrong"
