"""Hidden checks for Exercise 2, ``clip_loss`` (3 points).

The visible check uses one (5, 5) batch; these use a batch of one, other sizes, float64,
swapped roles of images and texts, and compare the gradient with respect to the logits.
"""
import numpy as np
import pytest

from grader.checks.support import array, close, waves
from grader.checks.week9_multimodal.reference import reference_loss
from grader.sandbox import AsTensor
from utils import Tensor

pytestmark = pytest.mark.grade_cell("clip_loss_tests")
FN = "clip_loss"


def expected(logits):
    x = Tensor(logits, requires_grad=True, dtype=np.float64)
    loss = reference_loss(x)
    loss.backward()
    return float(loss.item()), x.grad


def scalar(value, what):
    out = array(value)
    assert out.size == 1, f"{what}: the loss should be one number (a 0-d Tensor), got shape {out.shape}"
    return float(out.reshape(-1)[0])


@pytest.mark.points(1)
def test_values(student):
    """Values (float64): batches of 1, 3 and 7 pairs, with the targets on the diagonal"""
    for n, scale in ((1, 1.0), (3, 4.0), (7, 2.5)):
        logits = waves((n, n), 0.2 * n, np.float64) * scale + 3.0 * np.eye(n)
        got = scalar(student.call(FN, AsTensor(logits)), f"batch of {n}")
        assert close(got, expected(logits)[0], rtol=1e-9, atol=1e-11), \
            f"wrong loss for a batch of {n} pairs (pair i is image i with text i: targets np.arange(N))"


@pytest.mark.points(1)
def test_both_directions(student):
    """Symmetry: swapping the roles of images and texts (logits.T) leaves the loss unchanged, and both directions count"""
    logits = waves((4, 4), 1.3, np.float64) * 3.0
    forward = scalar(student.call(FN, AsTensor(logits)), "(4, 4) logits")
    backward = scalar(student.call(FN, AsTensor(np.ascontiguousarray(logits.T))), "(4, 4) logits")
    assert close(forward, backward, rtol=1e-9, atol=1e-11), \
        "the loss changes when images and texts swap roles: it must average both directions (rows and columns)"
    assert close(forward, expected(logits)[0], rtol=1e-9, atol=1e-11), "wrong loss for an asymmetric batch of 4 pairs"


@pytest.mark.points(1)
def test_gradient(student):
    """Gradient (float64): backward from the loss gives the right gradient with respect to every logit"""
    logits = waves((6, 6), 0.4, np.float64) * 2.0
    reply = student.call_with(FN, [AsTensor(logits, requires_grad=True)], backward=np.array(1.0))
    grad = reply["input_grads"][0]
    assert grad is not None, "no gradient reached the logits: build the loss from Tensor operations, not NumPy"
    assert close(array(grad), expected(logits)[1], rtol=1e-8, atol=1e-10), "the gradient with respect to the logits is wrong"
