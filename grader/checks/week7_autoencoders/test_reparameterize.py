"""Hidden checks for Exercise 2, ``reparameterize`` (2 points).

The visible check uses one (4, 3) case in float32; these use other shapes (a single value, a wide
batch), float64, very negative and positive log-variances, and compare the gradients with respect
to mu and log_var: a sample drawn outside the graph (no reparameterisation trick) gives none.
"""
import numpy as np
import pytest

from grader.checks.support import array, close, waves
from grader.checks.week7_autoencoders.reference import reparameterized
from grader.sandbox import AsTensor

pytestmark = pytest.mark.grade_cell("reparameterize_tests")
FN = "reparameterize"


def case(shape, phase):
    mu = waves(shape, phase, np.float64)
    log_var = 2.5 * waves(shape, phase + 1.3, np.float64)  # from about -4.3 to 4.3
    eps = waves(shape, phase + 2.1, np.float64)
    return mu, log_var, eps


@pytest.mark.points(1)
def test_values(student):
    """Values (float64): other shapes, very small and large variances, the given noise used"""
    for shape, phase in (((1, 1), 0.3), ((6, 5), 1.2), ((2, 9), 2.4)):
        mu, log_var, eps = case(shape, phase)
        got = array(student.call(FN, AsTensor(mu), AsTensor(log_var), AsTensor(eps)))
        assert got.shape == shape, f"z should have the shape of mu, {shape}"
        assert np.isfinite(got).all(), "z holds NaN or inf (a square root or log of a negative log-variance?)"
        assert close(got, reparameterized(mu, log_var, eps), rtol=1e-10, atol=1e-12), \
            f"wrong z for shape {shape}: z = mu + exp(0.5 * log_var) * eps"


@pytest.mark.points(1)
def test_gradients_reach_mu_and_log_var(student):
    """Gradients (float64): backward reaches mu (dz/dmu = 1) and log_var (dz/dlog_var = sigma * eps / 2)"""
    mu, log_var, eps = case((3, 4), 0.8)
    upstream = waves((3, 4), 1.9, np.float64)
    reply = student.call_with(FN, [AsTensor(mu, requires_grad=True), AsTensor(log_var, requires_grad=True), AsTensor(eps)],
                              backward=upstream)
    grad_mu, grad_log_var = reply["input_grads"][0], reply["input_grads"][1]
    assert grad_mu is not None and grad_log_var is not None, \
        "no gradient reached mu or log_var: the sample was drawn outside the graph (no reparameterisation trick)"
    assert close(array(grad_mu), upstream, rtol=1e-10, atol=1e-12), "the gradient with respect to mu is wrong"
    want = upstream * 0.5 * np.exp(0.5 * log_var) * eps
    assert close(array(grad_log_var), want, rtol=1e-10, atol=1e-12), "the gradient with respect to log_var is wrong"
