"""Hidden checks for Exercise 4, ``vae_loss`` (2 points).

The visible check uses one (5 images, 7 pixels, 3 latent) case in float32; these use a single
image, more images than pixels, float64, and compare the gradients with respect to x_hat, mu and
log_var.
"""
import numpy as np
import pytest

from grader.checks.support import array, close, waves
from grader.checks.week7_autoencoders.reference import negative_elbo
from grader.sandbox import AsTensor
from utils.checks.week7_autoencoders import unit_waves

pytestmark = pytest.mark.grade_cell("vae_loss_tests")
FN = "vae_loss"


def case(N, D, K, phase):
    x_hat = unit_waves((N, D), phase, 0.03, 0.97).astype(np.float64)
    x = unit_waves((N, D), phase + 1.1).astype(np.float64)
    return x_hat, x, waves((N, K), phase + 0.4, np.float64), waves((N, K), phase + 2.2, np.float64)


@pytest.mark.points(1)
def test_values(student):
    """Values (float64): the batch mean of BCE summed over pixels plus KL, for one image and for more images than pixels"""
    for (N, D, K), phase in (((1, 4, 2), 0.3), ((9, 6, 3), 1.7), ((3, 11, 5), 2.5)):
        x_hat, x, mu, log_var = case(N, D, K, phase)
        got = array(student.call(FN, AsTensor(x_hat), AsTensor(x), AsTensor(mu), AsTensor(log_var)))
        assert got.shape == (), "the loss should be a scalar (averaged over the images)"
        assert close(got, negative_elbo(x_hat, x, mu, log_var), rtol=1e-9, atol=1e-10), \
            f"wrong loss for {N} image(s) of {D} pixels (sum over pixels, then average over images)"


@pytest.mark.points(1)
def test_gradients(student):
    """Gradients (float64): backward reaches x_hat, mu and log_var with the right values"""
    N, D, K = 4, 6, 2
    x_hat, x, mu, log_var = case(N, D, K, 0.9)
    reply = student.call_with(FN, [AsTensor(x_hat, requires_grad=True), AsTensor(x), AsTensor(mu, requires_grad=True),
                                   AsTensor(log_var, requires_grad=True)], backward=np.array(1.0))
    grads = reply["input_grads"]
    assert grads[0] is not None and grads[2] is not None and grads[3] is not None, \
        "no gradient reached x_hat, mu or log_var: keep the loss in Tensor operations"
    want_x_hat = (x_hat - x) / (x_hat * (1 - x_hat)) / N
    assert close(array(grads[0]), want_x_hat, rtol=1e-8, atol=1e-10), "the gradient with respect to x_hat is wrong"
    assert close(array(grads[2]), mu / N, rtol=1e-8, atol=1e-10), "the gradient with respect to mu is wrong"
    assert close(array(grads[3]), 0.5 * (np.exp(log_var) - 1) / N, rtol=1e-8, atol=1e-10), "the gradient with respect to log_var is wrong"
