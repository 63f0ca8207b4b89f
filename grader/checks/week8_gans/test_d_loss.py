"""Hidden checks for Exercise 3, ``discriminator_loss`` (2 points).

The visible check uses one pair of logit batches (7 real, 5 fake); these use batch 1, other
values, float64 gradients, a discriminator that is right (whose loss must be near 0: catches
swapped labels directly) and logits of +-80.
"""
import numpy as np
import pytest

from grader.checks.support import array, close, waves
from grader.checks.week8_gans.reference import discriminator_loss
from grader.sandbox.codec import AsTensor
from utils import Tensor

pytestmark = pytest.mark.grade_cell("d_loss_tests")
NAME = "discriminator_loss"


def reference(real, fake):
    leaves = [Tensor(a, requires_grad=True, dtype=np.float64) for a in (real, fake)]
    loss = discriminator_loss(*leaves)
    loss.backward()
    return float(loss.numpy()), [leaf.grad for leaf in leaves]


@pytest.mark.points(1)
def test_values_and_gradients(student):
    """Values and gradients (float64): batch 1 against batch 4 and batch 6 against batch 3 match the reference"""
    for n_real, n_fake, phase in ((1, 4, 0.2), (6, 3, 1.7)):
        real, fake = waves((n_real,), phase, np.float64) * 3, waves((n_fake,), phase + 1.1, np.float64) * 3
        res = student.call_with(NAME, (AsTensor(real, requires_grad=True), AsTensor(fake, requires_grad=True)), backward=np.float64(1.0))
        value, grads = reference(real, fake)
        out = array(res["outputs"])
        assert out.shape == (), "the loss should be a scalar Tensor"
        assert close(out, value, rtol=1e-9, atol=1e-12), f"wrong loss for {n_real} real and {n_fake} fake logits"
        got = res["input_grads"]
        assert got[0] is not None and got[1] is not None, "no gradient reached the real or the fake logits"
        assert close(array(got[0]), grads[0], rtol=1e-9, atol=1e-12), "the gradient with respect to the real logits is wrong"
        assert close(array(got[1]), grads[1], rtol=1e-9, atol=1e-12), "the gradient with respect to the fake logits is wrong"


@pytest.mark.points(1)
def test_labels_and_stability(student):
    """Labels and stability: a discriminator that is right has a loss near 0, and logits of +-80 give a finite, exact loss"""
    right = float(array(student.call(NAME, AsTensor(np.full(3, 9.0)), AsTensor(np.full(2, -9.0)))))
    assert right < 1e-3, "a discriminator that calls real samples real and fakes fake should have a loss near 0: are the labels swapped?"
    wrong = float(array(student.call(NAME, AsTensor(np.full(3, -9.0)), AsTensor(np.full(2, 9.0)))))
    assert wrong > 10, "a discriminator that calls real samples fake should have a large loss: are the labels swapped?"
    real, fake = np.array([80.0, -80.0, 3.0]), np.array([-80.0, 80.0])
    res = student.call_with(NAME, (AsTensor(real, requires_grad=True), AsTensor(fake, requires_grad=True)), backward=np.float64(1.0))
    value, grads = reference(real, fake)
    out = array(res["outputs"])
    assert np.isfinite(out).all() and close(out, value, rtol=1e-9, atol=1e-12), \
        "the loss is not finite or not exact for logits of +-80: use binary_cross_entropy_with_logits, not log(sigmoid(x))"
    got = res["input_grads"]
    assert got[0] is not None and close(array(got[0]), grads[0], rtol=1e-9, atol=1e-12), "the gradient is wrong for logits of +-80"
