"""Hidden checks for Exercise 4, ``generator_loss`` (2 points).

The visible check uses one batch of 5 logits; these use batch 1 and 6, float64 gradients, and
a discriminator that rejects every fake, where the non-saturating loss must still pass a
gradient of about -1/N per logit (the saturating one passes about 0).
"""
import numpy as np
import pytest

from grader.checks.support import array, close, waves
from grader.checks.week8_gans.reference import generator_loss
from grader.sandbox.codec import AsTensor
from utils import Tensor

pytestmark = pytest.mark.grade_cell("g_loss_tests")
NAME = "generator_loss"


def reference(fake):
    leaf = Tensor(fake, requires_grad=True, dtype=np.float64)
    loss = generator_loss(leaf)
    loss.backward()
    return float(loss.numpy()), leaf.grad


def student_loss(student, fake):
    res = student.call_with(NAME, (AsTensor(fake, requires_grad=True),), backward=np.float64(1.0))
    out = array(res["outputs"])
    assert out.shape == (), "the loss should be a scalar Tensor"
    assert res["input_grads"][0] is not None, "no gradient reached the fake logits"
    return out, array(res["input_grads"][0])


@pytest.mark.points(1)
def test_values_and_gradients(student):
    """Values and gradients (float64): batch 1 and batch 6 match the non-saturating loss"""
    for n, phase in ((1, 0.4), (6, 2.1)):
        fake = waves((n,), phase, np.float64) * 3
        out, grad = student_loss(student, fake)
        value, want = reference(fake)
        assert close(out, value, rtol=1e-9, atol=1e-12), f"wrong loss for a batch of {n}: the generator minimises -mean log D(G(z))"
        assert close(grad, want, rtol=1e-9, atol=1e-12), f"wrong gradient for a batch of {n}"


@pytest.mark.points(1)
def test_does_not_saturate(student):
    """Non-saturating: when D rejects every fake (logits -12 and -800) the gradient stays near -1/N and the loss is finite"""
    fake = np.array([-12.0, -800.0, -12.0, -800.0])
    out, grad = student_loss(student, fake)
    value, want = reference(fake)
    assert np.all(np.abs(grad) > 0.2 / len(fake)), \
        "the gradient vanishes when the discriminator rejects the fakes: this is the saturating loss; use -log D(G(z))"
    assert np.all(grad < 0), "the gradient should push the fake logits up (towards 'real'): is the sign or the label wrong?"
    assert np.isfinite(out).all() and close(out, value, rtol=1e-9, atol=1e-12), \
        "the loss is not finite or not exact for logits of -800: use binary_cross_entropy_with_logits"
    assert close(grad, want, rtol=1e-9, atol=1e-12), "the gradient is wrong for very negative logits"
