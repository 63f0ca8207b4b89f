"""Hidden checks for Exercise 5, ``masked_cross_entropy`` (2 points): other shapes, batch size 1,
float64 and the gradient (zero at padded positions)."""
import numpy as np
import pytest

from grader.checks.support import array, close, waves
from grader.sandbox import AsTensor
from utils import Tensor
from grader.checks.week5_transformer.reference import reference_masked_loss

pytestmark = pytest.mark.grade_cell("masked_loss_tests")


@pytest.mark.points(1)
def test_values_other_shapes(student):
    """Values: batch size 1 without padding, and a batch where padding ids are not 0"""
    cases = ((waves((1, 5, 4), 0.1, np.float64), np.array([[0, 3, 1, 2, 2]]), 9),
             (waves((3, 6, 8), 0.7, np.float64) * 3, np.array([[7, 2, 7, 7, 7, 7], [1, 2, 3, 4, 5, 6], [5, 7, 7, 7, 7, 7]]), 7))
    for logits, target, pad in cases:
        got = array(student.call("masked_cross_entropy", AsTensor(logits), target, pad)).reshape(-1)
        want = reference_masked_loss(Tensor(logits, dtype=np.float64), target, pad).numpy().reshape(-1)
        assert got.shape == (1,), "return a scalar (one number), not one loss per position"
        assert close(got, want, rtol=1e-9, atol=1e-10), f"wrong loss with pad_token={pad} (average only over target != pad_token)"


@pytest.mark.points(1)
def test_gradient(student):
    """Gradient: flows back to the logits, equal to the reference, and zero at padded positions"""
    logits = waves((2, 4, 5), 1.3, np.float64)
    target = np.array([[1, 4, 0, 0], [2, 3, 3, 0]])
    reply = student.call_with("masked_cross_entropy", [AsTensor(logits, requires_grad=True), target, 0], backward=np.array(1.0))
    grad = reply["input_grads"][0]
    assert grad is not None, "no gradient reached the logits: build the loss from Tensor operations"
    t = Tensor(logits, requires_grad=True, dtype=np.float64)
    reference_masked_loss(t, target, 0).backward()
    assert close(array(grad), t.grad, rtol=1e-7, atol=1e-10), "the gradient with respect to the logits is wrong"
    assert np.allclose(array(grad)[target == 0], 0.0), "padded positions must not receive gradient"
