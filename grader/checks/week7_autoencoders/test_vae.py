"""Hidden checks for Exercise 5, ``VAE`` (3 points).

The visible check builds one model (10 -> 6 -> 4, batch 3) with public weights; these use other
sizes, batch 1, float64, the grader's own weights loaded by the prescribed names, given noise and
fresh noise, and compare the gradient of every parameter of the reference layout: a sample drawn
outside the graph leaves the encoder without one.
"""
import numpy as np
import pytest

from grader.checks.support import array, close, moved, waves
from grader.checks.week7_autoencoders.reference import ReferenceVAE, grader_state
from utils import Tensor, no_grad
from utils.checks.week7_autoencoders import unit_waves

pytestmark = pytest.mark.grade_cell("vae_tests")
CLS = "VAE"
SMALL = dict(in_features=7, hidden=5, latent_dim=2)
WIDE = dict(in_features=13, hidden=9, latent_dim=3)


def reference(cfg, phase, dtype=np.float64):
    model = ReferenceVAE(**cfg)
    if dtype == np.float64:
        model = model.double()
    state = grader_state(model, phase, dtype)
    model.load_state_dict(state)
    return model, state


def triple(outputs, what="forward"):
    assert isinstance(outputs, (tuple, list)) and len(outputs) == 3, f"{what} should return (x_hat, mu, log_var)"
    return [array(o) for o in outputs]


@pytest.mark.points(1)
def test_forward_with_given_noise(student):
    """Values (float64): x_hat, mu and log_var for given weights and noise, batch 1 and batch 5"""
    for cfg, batch, phase in ((SMALL, 1, 0.3), (WIDE, 5, 1.2)):
        model, state = reference(cfg, phase)
        x = unit_waves((batch, cfg["in_features"]), phase).astype(np.float64)
        eps = waves((batch, cfg["latent_dim"]), phase + 0.7, np.float64)
        with no_grad():
            want = [t.numpy() for t in model(Tensor(x, dtype=np.float64), eps)]
        x_hat, mu, log_var = triple(student.module(CLS, cfg, [x, eps], state=state, dtype="float64").outputs)
        assert close(mu, want[1], rtol=1e-7, atol=1e-9), "mu is wrong for the weights the grader loaded (mu comes from fc_mu)"
        assert close(log_var, want[2], rtol=1e-7, atol=1e-9), "log_var is wrong for the weights the grader loaded (it comes from fc_log_var)"
        assert close(x_hat, want[0], rtol=1e-7, atol=1e-9), \
            "x_hat is wrong for given weights and noise: decode z = reparameterize(mu, log_var, eps), with the eps given"


@pytest.mark.points(1)
def test_fresh_noise_and_weights(student):
    """Sampling: without eps, forward draws new noise each call (same mu, different x_hat); outputs follow the weights"""
    x = unit_waves((4, WIDE["in_features"]), 0.5).astype(np.float64)
    model, state = reference(WIDE, 2.0)
    with no_grad():
        want_mu = model(Tensor(x, dtype=np.float64), np.zeros((4, WIDE["latent_dim"])))[1].numpy()
    draws = [triple(student.module(CLS, WIDE, [x], state=state, dtype="float64").outputs, "forward(x)") for _ in range(2)]
    for x_hat, mu, _ in draws:
        assert close(mu, want_mu, rtol=1e-7, atol=1e-9), "forward(x) without eps gives the wrong mu"
        assert x_hat.shape == x.shape and np.all((x_hat > 0) & (x_hat < 1)), "x_hat should be (N, in_features) pixels in (0, 1)"
    assert moved(draws[0][0], draws[1][0]), "two calls of forward(x) gave the same x_hat: draw fresh noise when eps is None"
    eps = waves((4, WIDE["latent_dim"]), 0.1, np.float64)
    other, other_state = reference(WIDE, 0.6)
    first = triple(student.module(CLS, WIDE, [x, eps], state=state, dtype="float64").outputs)[0]
    second = triple(student.module(CLS, WIDE, [x, eps], state=other_state, dtype="float64").outputs)[0]
    with no_grad():
        want = other(Tensor(x, dtype=np.float64), eps)[0].numpy()
    assert close(second, want, rtol=1e-7, atol=1e-9), "x_hat is wrong for a second set of weights"
    assert moved(first, second), "x_hat did not change when the weights changed: does forward use the parameters?"


@pytest.mark.points(1)
def test_gradients_reach_the_encoder(student):
    """Gradients (float64): the reconstruction's gradient reaches every parameter, the encoder's and both heads' included"""
    model, state = reference(SMALL, 1.7)
    x = unit_waves((3, SMALL["in_features"]), 0.9).astype(np.float64)
    eps = waves((3, SMALL["latent_dim"]), 2.2, np.float64)
    upstream = waves((3, SMALL["in_features"]), 0.4, np.float64)
    model(Tensor(x, dtype=np.float64), eps)[0].backward(upstream)
    res = student.module(CLS, SMALL, [x, eps], state=state, backward=upstream, dtype="float64")
    missing = sorted(name for name, _ in model.named_parameters() if res.parameters.get(name) is None or res.parameters[name].grad is None)
    assert not missing, (f"no gradient reached {', '.join(missing[:3])}: z must be computed with Tensor operations "
                         "(the reparameterisation trick), or the encoder never learns")
    for name, p in model.named_parameters():
        assert close(array(res.parameters[name].grad), p.grad, rtol=1e-6, atol=1e-9), f"the gradient of {name} is wrong"
