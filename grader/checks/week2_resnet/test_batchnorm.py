"""Hidden checks for Exercise 1, ``batchnorm2d_forward`` (3 points).

The visible check uses one (4, 3, 5, 6) float64 batch with the default momentum and eps;
these use batch size 1, other shapes, other momentum and eps, float32, and gradients; every
call also checks that the caller's running statistics were left as they were.
"""
import numpy as np
import pytest

from grader.checks.support import array, close, waves
from grader.sandbox import AsTensor
from utils import Tensor
from utils.nn.normalization import batch_norm

pytestmark = pytest.mark.grade_cell("batchnorm_tests")
FN = "batchnorm2d_forward"


def inputs(shape, dtype=np.float64):
    C = shape[1]
    x = waves(shape, 0.2, dtype) * 2.0 + 0.7
    gamma = (1.0 + 0.5 * waves((C,), 1.0, dtype)).astype(dtype)
    beta = waves((C,), 2.0, dtype)
    running_mean = (0.3 * waves((C,), 3.0, dtype)).astype(dtype)
    running_var = (1.0 + 0.4 * np.abs(waves((C,), 4.0, dtype))).astype(dtype)
    return x, gamma, beta, running_mean, running_var


def expected(x, gamma, beta, rm, rv, training, momentum=0.1, eps=1e-5):
    dt = x.dtype
    tm, tv = Tensor(rm.copy(), dtype=dt), Tensor(rv.copy(), dtype=dt)
    out = batch_norm(Tensor(x, dtype=dt), tm, tv, Tensor(gamma, dtype=dt), Tensor(beta, dtype=dt), training=training,
                     momentum=momentum, eps=eps)
    return out.numpy(), tm.numpy(), tv.numpy()


def run(student, x, gamma, beta, rm, rv, training, **kwargs):
    answer = student.call_with(FN, (AsTensor(x), AsTensor(gamma), AsTensor(beta), rm, rv, training), kwargs, inspect=True)
    after = answer["args_after"]
    assert np.array_equal(array(after[3]), rm) and np.array_equal(array(after[4]), rv), \
        "the running_mean or running_var passed in was modified in place: return new arrays"
    reply = answer["outputs"]
    if not isinstance(reply, (tuple, list)) or len(reply) != 3:
        raise AssertionError("expected the function to return a tuple (out, running_mean, running_var)")
    return tuple(array(v) for v in reply)


@pytest.mark.points(1)
def test_batch_of_one_and_other_shapes(student):
    """Other shapes: a batch of one image (1, 5, 3, 2) and a (3, 2, 4, 7) batch, in training and evaluation"""
    for shape in ((1, 5, 3, 2), (3, 2, 4, 7)):
        x, g, b, rm, rv = inputs(shape)
        for training in (True, False):
            got = run(student, x, g, b, rm, rv, training)
            ref = expected(x, g, b, rm, rv, training)
            mode = "training" if training else "evaluation"
            assert got[0].shape == ref[0].shape, f"the output has the wrong shape for input {shape}"
            assert close(got[0], ref[0], 1e-6, 1e-8), f"wrong output in {mode} mode for an input of shape {shape}"
            assert close(got[1], ref[1], 1e-6, 1e-8) and close(got[2], ref[2], 1e-6, 1e-8), \
                f"wrong running statistics after {mode} mode for an input of shape {shape}"


@pytest.mark.points(1)
def test_momentum_eps_and_float32(student):
    """Arguments: momentum=0.3 and eps=0.01 are used, and float32 inputs work"""
    x, g, b, rm, rv = inputs((2, 4, 3, 5))
    got = run(student, x, g, b, rm, rv, True, momentum=0.3, eps=0.01)
    ref = expected(x, g, b, rm, rv, True, momentum=0.3, eps=0.01)
    assert close(got[0], ref[0], 1e-6, 1e-8), "the output ignores eps (or uses it in the wrong place)"
    assert close(got[1], ref[1], 1e-6, 1e-8), "the running mean ignores momentum (running = (1 - m) * running + m * batch)"
    assert close(got[2], ref[2], 1e-6, 1e-8), "the running variance ignores momentum or is not the unbiased batch variance"
    x32, g32, b32, rm32, rv32 = inputs((2, 4, 3, 5), np.float32)
    got = run(student, x32, g32, b32, rm32, rv32, False, eps=0.01)
    ref = expected(x32, g32, b32, rm32, rv32, False, eps=0.01)
    assert close(got[0], ref[0], 1e-4, 1e-5), "wrong output for float32 inputs in evaluation mode"


@pytest.mark.points(1)
def test_gradients_flow(student):
    """Gradients: backward through the output reaches x, gamma and beta correctly (float64, training mode)"""
    x, g, b, rm, rv = inputs((3, 2, 4, 5))
    upstream = waves(x.shape, 0.5, np.float64)
    reply = student.call_with(FN, [AsTensor(x, requires_grad=True), AsTensor(g, requires_grad=True),
                                   AsTensor(b, requires_grad=True), rm, rv, True], backward=upstream)
    grads = reply["input_grads"]
    tx, tg, tb = (Tensor(a, requires_grad=True, dtype=np.float64) for a in (x, g, b))
    out = batch_norm(tx, None, None, tg, tb, training=True)
    out.backward(upstream)
    for name, got, ref in (("x", grads[0], tx.grad), ("gamma", grads[1], tg.grad), ("beta", grads[2], tb.grad)):
        assert got is not None, f"no gradient reached {name}: compute the output with Tensor operations, not NumPy"
        assert close(array(got), ref, 1e-6, 1e-9), f"the gradient with respect to {name} is wrong"
