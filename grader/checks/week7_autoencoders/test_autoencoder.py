"""Hidden checks for Exercise 1, ``Autoencoder`` (3 points).

The visible check builds one model (12 -> 7 -> 3, batch 5) with public weights; these use other
sizes, batch 1, float32 and float64, the grader's own weights (``grader_state``) loaded by the
names the exercise prescribes, and compare gradients for every parameter of the reference layout.
"""
import numpy as np
import pytest

from grader.checks.support import array, close, moved
from grader.checks.week7_autoencoders.reference import ReferenceAutoencoder, grader_state
from utils import Tensor, no_grad
from utils.checks.week7_autoencoders import unit_waves

pytestmark = pytest.mark.grade_cell("autoencoder_tests")
CLS = "Autoencoder"
SMALL = dict(in_features=9, hidden=5, latent_dim=2)
WIDE = dict(in_features=16, hidden=11, latent_dim=6)


def reference(cfg, phase, dtype=np.float64):
    model = ReferenceAutoencoder(**cfg)
    if dtype == np.float64:
        model = model.double()
    state = grader_state(model, phase, dtype)
    model.load_state_dict(state)
    return model, state


@pytest.mark.points(1)
def test_other_sizes(student):
    """Other sizes: batch 1 and batch 4, codes (N, latent_dim) and reconstructions (N, in_features) in float32"""
    for cfg, batch in ((SMALL, 1), (WIDE, 4)):
        model, state = reference(cfg, 0.4, np.float32)
        x = unit_waves((batch, cfg["in_features"]), 1.3)
        codes = array(student.module(CLS, cfg, [x], state=state, method="encode").outputs)
        with no_grad():
            want_codes = model.encoder(Tensor(x)).numpy()
            want = model(Tensor(x)).numpy()
        assert codes.shape == (batch, cfg["latent_dim"]), f"encode should give codes of shape (N, latent_dim) = {(batch, cfg['latent_dim'])}"
        assert close(codes, want_codes), f"wrong codes for batch {batch} with the weights the grader loaded"
        out = array(student.module(CLS, cfg, [x], state=state).outputs)
        assert out.shape == want.shape, f"forward should give reconstructions of shape (N, in_features) = {want.shape}"
        assert close(out, want), f"wrong reconstructions for batch {batch} with the weights the grader loaded"


@pytest.mark.points(1)
def test_values_follow_the_weights(student):
    """Values (float64): reconstructions and decoded codes match the layout for two weight sets"""
    x = unit_waves((3, WIDE["in_features"]), 0.2).astype(np.float64)
    z = unit_waves((3, WIDE["latent_dim"]), 2.1, -1.5, 1.5).astype(np.float64)
    outputs = []
    for phase in (0.9, 2.6):
        model, state = reference(WIDE, phase)
        with no_grad():
            want, want_decoded = model(Tensor(x, dtype=np.float64)).numpy(), model.decoder(Tensor(z, dtype=np.float64)).numpy()
        got = array(student.module(CLS, WIDE, [x], state=state, dtype="float64").outputs)
        assert close(got, want, rtol=1e-7, atol=1e-9), "with the weights the grader loaded by these names, the reconstructions are wrong"
        decoded = array(student.module(CLS, WIDE, [z], state=state, dtype="float64", method="decode").outputs)
        assert close(decoded, want_decoded, rtol=1e-7, atol=1e-9), "decode(z) is wrong for the weights the grader loaded (does it end with a Sigmoid?)"
        assert np.all((got > 0) & (got < 1)), "reconstructed pixels must lie in (0, 1)"
        outputs.append(got)
    assert moved(*outputs), "the reconstructions did not change when the weights changed: does forward use the parameters?"


@pytest.mark.points(1)
def test_gradients(student):
    """Gradients (float64): backward reaches every parameter of the encoder and decoder, and the input images"""
    model, state = reference(SMALL, 1.7)
    x = unit_waves((4, SMALL["in_features"]), 0.6).astype(np.float64)
    upstream = unit_waves((4, SMALL["in_features"]), 2.9, -1, 1).astype(np.float64)
    tx = Tensor(x, requires_grad=True, dtype=np.float64)
    model(tx).backward(upstream)
    res = student.module(CLS, SMALL, [x], state=state, backward=upstream, dtype="float64", input_grad=True)
    missing = sorted(name for name, _ in model.named_parameters() if res.parameters.get(name) is None or res.parameters[name].grad is None)
    assert not missing, f"no gradient reached {', '.join(missing[:3])}: keep the forward pass in Tensor operations"
    for name, p in model.named_parameters():
        assert close(array(res.parameters[name].grad), p.grad, rtol=1e-6, atol=1e-9), f"the gradient of {name} is wrong"
    assert res.input_grads and res.input_grads[0] is not None, "no gradient reached the input images"
    assert close(array(res.input_grads[0]), tx.grad, rtol=1e-6, atol=1e-9), "the gradient with respect to the images is wrong"
