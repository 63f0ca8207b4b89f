"""Hidden checks for Exercise 3b, ``MultiHeadAttention`` (3 points).

Compared with ``utils.nn.MultiHeadAttention`` given the same weights: other widths and head
counts, a batch of one, cross shapes (L != S), causal and padding masks, float64 and
gradients reaching every parameter and input.
"""
import numpy as np
import pytest

from grader.checks.support import array, close, moved, pair, waves
from utils import Tensor
from grader.checks.week4_attention.reference import grader_state, mha_shapes, reference_mha
from utils.nn import MultiHeadAttention as Library

pytestmark = pytest.mark.grade_cell("mha_tests")
CLASS = "MultiHeadAttention"


def run(student, E, h, q, kv, mask=None, dtype=None, backward=None, phase=0.0):
    state = grader_state(mha_shapes(E), np.float64 if dtype else np.float32, phase)
    inputs = [q, kv, kv] + ([mask] if mask is not None else [])
    res = student.module(CLASS, {"d_model": E, "num_heads": h}, inputs, state=state, dtype=dtype,
                         backward=backward, input_grad=backward is not None)
    out, w = pair(res.outputs)
    return state, res, array(out), array(w)


@pytest.mark.points(1)
def test_other_shapes(student):
    """Other shapes: batch of one, 2 and 4 heads, queries and keys of different lengths"""
    for N, L, S, E, h in ((1, 3, 6, 8, 2), (2, 5, 2, 16, 4)):
        q, kv = waves((N, L, E), 0.2), waves((N, S, E), 1.4)
        state, _, out, w = run(student, E, h, q, kv)
        ref_out, ref_w = reference_mha(state, E, h, q, kv, kv)
        assert w.shape == (N, h, L, S), "the weights must be per head, shape (N, h, L, S)"
        assert out.shape == (N, L, E), "the output must have shape (N, L, d_model)"
        assert close(w, ref_w), f"wrong attention weights with {h} heads (compare the projections and split_heads)"
        assert close(out, ref_out), f"wrong output with {h} heads (merge the heads, then out_proj)"
    state, _, moved_out, _ = run(student, E, h, q, kv, phase=1.7)
    assert close(moved_out, reference_mha(state, E, h, q, kv, kv)[0]), "wrong output with a second set of weights"
    assert moved(out, moved_out), "the output did not change when the weights changed: does forward use the loaded projections?"


@pytest.mark.points(1)
def test_mha_under_masks(student):
    """Masks: an (L, S) causal mask and an (N, 1, 1, S) padding mask match the library's attn_mask / key_padding_mask"""
    N, T, E, h = 2, 5, 12, 3
    x = waves((N, T, E), 0.8)
    causal = np.tril(np.ones((T, T), dtype=bool))
    keep = np.arange(T)[None, :] < np.array([5, 2])[:, None]  # (N, S)
    for name, mask, kwargs in (("causal", causal, {"attn_mask": causal}),
                               ("padding", keep[:, None, None, :], {"key_padding_mask": keep})):
        state, _, out, w = run(student, E, h, x, x, mask)
        ref_out, ref_w = reference_mha(state, E, h, x, x, x, **kwargs)
        assert w.shape == ref_w.shape, f"the weights have the wrong shape with a {name} mask"
        assert np.all(np.abs(w[~np.broadcast_to(mask, w.shape)]) < 1e-6), f"positions hidden by the {name} mask still get weight"
        assert close(w, ref_w) and close(out, ref_out), f"wrong values with a {name} mask (pass the mask on to your attention)"


@pytest.mark.points(1)
def test_gradients_float64(student):
    """Gradients in float64: backward reaches all four projections and the inputs, matching the library"""
    N, L, S, E, h = 2, 3, 4, 8, 2
    q, kv = waves((N, L, E), 0.5, np.float64), waves((N, S, E), 2.5, np.float64)
    up = waves((N, L, E), 1.1, np.float64)
    state, res, out, _ = run(student, E, h, q, kv, dtype="float64", backward=up)
    lib = Library(E, h)
    lib.to(dtype=np.float64)
    lib.load_state_dict(state)
    tq, tk, tv = (Tensor(a, requires_grad=True, dtype=np.float64) for a in (q, kv, kv.copy()))
    ref_out, _ = lib(tq, tk, tv)
    assert close(out, ref_out.numpy(), rtol=1e-9, atol=1e-10), "float64 outputs lost precision (was something cast to float32?)"
    ref_out.backward(up)
    ref_grads = dict(lib.named_parameters())
    for name in mha_shapes(E):
        info = res.parameters.get(name)
        assert info is not None, f"parameter {name} is missing (name the layers q_proj, k_proj, v_proj, out_proj)"
        assert info.grad is not None, f"no gradient reached {name}: is that layer used in forward?"
        assert close(array(info.grad), ref_grads[name].grad, rtol=1e-7, atol=1e-9), f"the gradient of {name} is wrong"
    for i, (name, ref) in enumerate((("query", tq.grad), ("key", tk.grad), ("value", tv.grad))):
        got = res.input_grads[i]
        assert got is not None, f"no gradient reached the {name} input: use Tensor operations throughout"
        assert close(array(got), ref, rtol=1e-7, atol=1e-9), f"the gradient with respect to the {name} is wrong"
