"""Hidden checks for Exercise 3, ``kl_divergence`` (2 points).

The visible check uses one (4, 3) case in float32; these use a single image with one latent
dimension, wider latents, float64, the prior itself (KL = 0), and compare gradients.
"""
import numpy as np
import pytest

from grader.checks.support import array, close, waves
from grader.checks.week7_autoencoders.reference import kl
from grader.sandbox import AsTensor

pytestmark = pytest.mark.grade_cell("kl_tests")
FN = "kl_divergence"


@pytest.mark.points(1)
def test_values(student):
    """Values (float64): one value per image for other shapes, never negative, zero at the prior"""
    for shape, phase in (((1, 1), 0.2), ((6, 5), 1.4), ((2, 8), 2.6)):
        mu, log_var = waves(shape, phase, np.float64), 2.0 * waves(shape, phase + 0.9, np.float64)
        got = array(student.call(FN, AsTensor(mu), AsTensor(log_var)))
        assert got.shape == (shape[0],), f"expected one KL per image, shape ({shape[0]},), for mu of shape {shape}"
        assert np.isfinite(got).all(), "the KL holds NaN or inf (a log of the log-variance?)"
        assert close(got, kl(mu, log_var), rtol=1e-10, atol=1e-12), f"wrong KL values for mu of shape {shape}"
    zero = np.zeros((3, 4))
    got = array(student.call(FN, AsTensor(zero), AsTensor(zero)))
    assert close(got, np.zeros(3), rtol=0, atol=1e-12), "KL(N(0, 1) || N(0, 1)) must be 0"


@pytest.mark.points(1)
def test_gradients(student):
    """Gradients (float64): backward reaches mu (gradient mu) and log_var (gradient (exp(log_var) - 1) / 2)"""
    mu, log_var = waves((4, 3), 0.5, np.float64), 1.5 * waves((4, 3), 1.6, np.float64)
    upstream = waves((4,), 2.3, np.float64)
    reply = student.call_with(FN, [AsTensor(mu, requires_grad=True), AsTensor(log_var, requires_grad=True)], backward=upstream)
    grad_mu, grad_log_var = reply["input_grads"]
    assert grad_mu is not None and grad_log_var is not None, "no gradient reached mu or log_var: use Tensor operations"
    assert close(array(grad_mu), upstream[:, None] * mu, rtol=1e-10, atol=1e-12), "the gradient with respect to mu is wrong"
    assert close(array(grad_log_var), upstream[:, None] * 0.5 * (np.exp(log_var) - 1), rtol=1e-10, atol=1e-12), \
        "the gradient with respect to log_var is wrong"
