"""Hidden checks for Exercise 4, ``CrossAttention`` (2 points).

Other lengths than the visible check, a batch of one, float64 and gradients; compared with
``utils.nn.MultiHeadAttention`` using ``key_padding_mask``.
"""
import numpy as np
import pytest

from grader.checks.support import array, close, moved, pair, waves
from utils import Tensor
from grader.checks.week4_attention.reference import grader_state, mha_shapes, reference_mha
from utils.nn import MultiHeadAttention as Library

pytestmark = pytest.mark.grade_cell("cross_tests")
CLASS = "CrossAttention"


@pytest.mark.points(1)
def test_other_lengths(student):
    """Other lengths: three encoder sequences of lengths 6, 1 and 4 under four decoder positions"""
    N, L, S, E, h = 3, 4, 6, 12, 3
    dec, enc = waves((N, L, E), 0.7), waves((N, S, E), 1.9)
    lengths = np.array([6, 1, 4])
    state = grader_state(mha_shapes(E, "mha."))
    res = student.module(CLASS, {"d_model": E, "num_heads": h}, [dec, enc, lengths], state=state)
    out, w = (array(v) for v in pair(res.outputs))
    keep = np.arange(S)[None, :] < lengths[:, None]  # (N, S)
    assert w.shape == (N, h, L, S), "the weights must have shape (N, h, L, S): queries from the decoder, keys from the encoder"
    assert np.all(np.abs(w * ~keep[:, None, None, :]) < 1e-6), "padded encoder positions still get weight"
    ref_out, ref_w = reference_mha(state, E, h, dec, enc, enc, key_padding_mask=keep, prefix="mha.")
    assert close(w, ref_w), "wrong attention weights (keys and values are the encoder states)"
    assert close(out, ref_out), "wrong output (keys and values are the encoder states)"
    state = grader_state(mha_shapes(E, "mha."), phase=2.4)
    again = array(pair(student.module(CLASS, {"d_model": E, "num_heads": h}, [dec, enc, lengths], state=state).outputs)[0])
    assert close(again, reference_mha(state, E, h, dec, enc, enc, key_padding_mask=keep, prefix="mha.")[0]), \
        "wrong output with a second set of weights"
    assert moved(out, again), "the output did not change when the weights changed: does forward use self.mha's parameters?"


@pytest.mark.points(1)
def test_batch_of_one_float64_gradients(student):
    """Batch of one in float64: gradients reach every parameter and both inputs; padded encoder positions get none"""
    L, S, E, h = 2, 5, 8, 2
    dec, enc = waves((1, L, E), 0.1, np.float64), waves((1, S, E), 3.1, np.float64)
    lengths = np.array([3])
    up = waves((1, L, E), 2.0, np.float64)
    state = grader_state(mha_shapes(E, "mha."), np.float64)
    res = student.module(CLASS, {"d_model": E, "num_heads": h}, [dec, enc, lengths], state=state, dtype="float64",
                         backward=up, input_grad=True)
    lib = Library(E, h)
    lib.to(dtype=np.float64)
    lib.load_state_dict({k[len("mha."):]: v for k, v in state.items()})
    td, te = Tensor(dec, requires_grad=True, dtype=np.float64), Tensor(enc, requires_grad=True, dtype=np.float64)
    ref_out, _ = lib(td, te, te, key_padding_mask=np.arange(S)[None, :] < lengths[:, None])
    assert close(array(pair(res.outputs)[0]), ref_out.numpy(), rtol=1e-9, atol=1e-10), "wrong output in float64"
    ref_out.backward(up)
    ref_params = dict(lib.named_parameters())
    for name in mha_shapes(E):
        info = res.parameters.get("mha." + name)
        assert info is not None and info.grad is not None, f"no gradient reached mha.{name}"
        assert close(array(info.grad), ref_params[name].grad, rtol=1e-7, atol=1e-9), f"the gradient of mha.{name} is wrong"
    g_dec, g_enc = res.input_grads[0], res.input_grads[1]
    assert g_dec is not None and g_enc is not None, "no gradient reached the decoder or encoder states"
    assert close(array(g_dec), td.grad, rtol=1e-7, atol=1e-9), "the gradient with respect to the decoder states is wrong"
    assert close(array(g_enc), te.grad, rtol=1e-7, atol=1e-9), "the gradient with respect to the encoder states is wrong"
    assert np.all(np.abs(array(g_enc)[0, 3:]) < 1e-12), "padded encoder positions receive gradient: they must be masked"
