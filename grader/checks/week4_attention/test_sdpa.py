"""Hidden checks for Exercise 1, ``scaled_dot_product_attention`` (4 points).

The visible check uses (2, 3, 4)-shaped queries; these use other ranks and sizes, masks
that broadcast (as arrays, nested lists and Tensors), float64, a fully masked row and gradients.
"""
import numpy as np
import pytest

from grader.checks.support import array, close, pair, waves
from grader.sandbox import AsTensor
from utils import Tensor
from utils.nn.attention import scaled_dot_product_attention as reference

pytestmark = pytest.mark.grade_cell("sdpa_tests")
FN = "scaled_dot_product_attention"


def qkv(lead, L, S, d_k, d_v, dtype=np.float32):
    return waves(lead + (L, d_k), 0.0, dtype), waves(lead + (S, d_k), 1.1, dtype), waves(lead + (S, d_v), 2.3, dtype)


def expected(Q, K, V, mask=None):
    out, w = reference(Tensor(Q, dtype=Q.dtype), Tensor(K, dtype=K.dtype), Tensor(V, dtype=V.dtype), attn_mask=mask)
    return out.numpy(), w.numpy()


def run(student, Q, K, V, mask=None):
    args = [AsTensor(Q), AsTensor(K), AsTensor(V)] + ([mask] if mask is not None else [])
    out, w = pair(student.call(FN, *args))
    return array(out), array(w)


@pytest.mark.points(1)
def test_other_ranks(student):
    """Other shapes: multi-head (batch, heads, L, d_k) inputs and a single unbatched sequence"""
    for lead, dims in (((2, 3), (4, 6, 5, 7)), ((), (1, 5, 3, 2))):
        Q, K, V = qkv(lead, *dims)
        out, w = run(student, Q, K, V)
        ref_out, ref_w = expected(Q, K, V)
        assert w.shape == ref_w.shape, f"the weights have the wrong shape for inputs with {len(lead) + 2} axes"
        assert out.shape == ref_out.shape, f"the output has the wrong shape for inputs with {len(lead) + 2} axes"
        assert close(w, ref_w) and close(out, ref_out), f"wrong values for inputs with {len(lead) + 2} axes (check the scale and the softmax axis)"


@pytest.mark.points(1)
def test_masks_broadcast(student):
    """Masks: a padding mask of shape (batch, 1, 1, S) and a causal (L, S) mask hide exactly the forbidden keys, given as arrays, lists or Tensors"""
    Q, K, V = qkv((2, 2), 4, 6, 3, 5)
    lengths = np.array([6, 3])
    padding = (np.arange(6)[None, :] < lengths[:, None])[:, None, None, :]  # (2, 1, 1, 6)
    causal = np.tril(np.ones((4, 6), dtype=bool))                          # (4, 6)
    for name, mask in (("padding", padding), ("causal", causal)):
        out, w = run(student, Q, K, V, mask)
        ref_out, ref_w = expected(Q, K, V, mask)
        full = np.broadcast_to(mask, ref_w.shape)
        assert w.shape == ref_w.shape, f"the weights have the wrong shape with a {name} mask"
        assert np.all(np.abs(w[~full]) < 1e-6), f"keys hidden by the {name} mask still get weight (True means 'may attend')"
        assert close(w, ref_w) and close(out, ref_out), f"wrong values with a {name} mask"
    for kind, mask, ref in (("a nested list", causal.tolist(), causal), ("a boolean Tensor", AsTensor(padding), padding)):
        out, w = run(student, Q, K, V, mask)
        ref_out, ref_w = expected(Q, K, V, ref)
        assert w.shape == ref_w.shape and close(w, ref_w) and close(out, ref_out), \
            f"a mask given as {kind} gave other results than the same mask as an array (the exercise accepts lists, arrays and Tensors)"


@pytest.mark.points(1)
def test_fully_masked_row_and_float64(student):
    """Edge cases: a query that may attend to nothing stays finite, and float64 inputs keep float64 precision"""
    Q, K, V = qkv((3,), 4, 5, 6, 2, dtype=np.float64)
    mask = np.ones((3, 4, 5), dtype=bool)
    mask[1, 2] = False
    out, w = run(student, Q, K, V, mask)
    assert np.isfinite(out).all() and np.isfinite(w).all(), "a fully masked row produced NaN or inf"
    ref_out, ref_w = expected(Q, K, V, mask)
    keep = mask.any(axis=-1)  # rows with at least one allowed key
    assert close(w[keep], ref_w[keep], rtol=1e-9, atol=1e-10), "float64 inputs lost precision (was something cast to float32?)"
    assert close(out[keep], ref_out[keep], rtol=1e-9, atol=1e-10), "float64 outputs lost precision (was something cast to float32?)"


@pytest.mark.points(1)
def test_gradients_flow(student):
    """Gradients: backward through your function reaches queries, keys and values correctly"""
    Q, K, V = qkv((2,), 3, 4, 5, 6, dtype=np.float64)
    mask = np.tril(np.ones((3, 4), dtype=bool))
    upstream = waves((2, 3, 6), 0.5, np.float64)
    reply = student.call_with(FN, [AsTensor(Q, requires_grad=True), AsTensor(K, requires_grad=True),
                                   AsTensor(V, requires_grad=True), mask], backward=upstream)
    grads = reply["input_grads"]
    tq, tk, tv = (Tensor(a, requires_grad=True, dtype=np.float64) for a in (Q, K, V))
    out, _ = reference(tq, tk, tv, attn_mask=mask)
    out.backward(upstream)
    for name, got, ref in (("queries", grads[0], tq.grad), ("keys", grads[1], tk.grad), ("values", grads[2], tv.grad)):
        assert got is not None, f"no gradient reached the {name}: use Tensor operations (not NumPy) inside the function"
        assert close(array(got), ref, rtol=1e-7, atol=1e-9), f"the gradient with respect to the {name} is wrong"
