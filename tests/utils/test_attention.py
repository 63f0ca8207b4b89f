"""Scaled dot-product attention and MultiHeadAttention: masks (True = may attend),
NaN-free fully masked rows, gradients, a per-head NumPy loop, PyTorch parity."""
import numpy as np
import pytest

from utils import Tensor, gradcheck
from utils.nn import MultiHeadAttention, scaled_dot_product_attention

F64 = np.float64


def t64(a, grad=False):
    return Tensor(np.array(a, dtype=F64), requires_grad=grad, dtype=F64)


def numpy_attention(q, k, v, mask=None):
    """Independent reference: explicit softmax with allowed entries only."""
    scores = q @ np.swapaxes(k, -1, -2) / np.sqrt(q.shape[-1])
    if mask is not None:
        scores = np.where(mask, scores, -np.inf)
    w = np.exp(scores - scores.max(axis=-1, keepdims=True))
    w = w / w.sum(axis=-1, keepdims=True)
    return w @ v, w


def test_sdpa_matches_numpy_and_rows_sum_to_one(rng):
    q, k, v = rng.standard_normal((2, 3, 4)), rng.standard_normal((2, 5, 4)), rng.standard_normal((2, 5, 6))
    out, w = scaled_dot_product_attention(t64(q), t64(k), t64(v))
    e_out, e_w = numpy_attention(q, k, v)
    assert out.shape == (2, 3, 6) and w.shape == (2, 3, 5)
    np.testing.assert_allclose(out.data, e_out, rtol=1e-12)
    np.testing.assert_allclose(w.data.sum(-1), 1.0, rtol=1e-12)


def test_mask_true_means_may_attend(rng):
    q, k, v = rng.standard_normal((3, 4)), rng.standard_normal((5, 4)), rng.standard_normal((5, 2))
    mask = np.array([[True, False, True, True, False]] * 3)
    out, w = scaled_dot_product_attention(t64(q), t64(k), t64(v), attn_mask=mask)
    assert np.all(w.data[:, ~mask[0]] == 0.0)  # exactly zero, not merely small
    np.testing.assert_allclose(w.data.sum(-1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(out.data, numpy_attention(q, k, v, mask)[0], rtol=1e-12)


def test_causal_mask(rng):
    q, k, v = rng.standard_normal((4, 3)), rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    _, w = scaled_dot_product_attention(t64(q), t64(k), t64(v), is_causal=True)
    assert np.all(np.triu(w.data, 1) == 0.0)
    np.testing.assert_allclose(w.data[0], [1, 0, 0, 0])
    tri = np.tril(np.ones((4, 4), dtype=bool))
    _, w2 = scaled_dot_product_attention(t64(q), t64(k), t64(v), attn_mask=tri)
    np.testing.assert_array_equal(w.data, w2.data)


def test_fully_masked_row_gives_zeros_and_finite_gradients(rng):
    q, k, v = t64(rng.standard_normal((3, 4)), True), t64(rng.standard_normal((5, 4)), True), t64(rng.standard_normal((5, 2)), True)
    mask = np.ones((3, 5), dtype=bool)
    mask[1] = False
    out, w = scaled_dot_product_attention(q, k, v, attn_mask=mask)
    assert np.all(np.isfinite(out.data)) and np.all(np.isfinite(w.data))
    np.testing.assert_array_equal(w.data[1], 0.0)
    np.testing.assert_array_equal(out.data[1], 0.0)
    out.sum().backward()
    for t in (q, k, v):
        assert np.all(np.isfinite(t.grad))
    np.testing.assert_array_equal(q.grad[1], 0.0)
    gradcheck(lambda a, b, c: scaled_dot_product_attention(a, b, c, attn_mask=mask)[0], q, k, v)


def test_sdpa_gradcheck_with_broadcast_mask(rng):
    q, k, v = (t64(rng.standard_normal(s), True) for s in ((2, 3, 4), (2, 5, 4), (2, 5, 3)))
    mask = rng.random((1, 3, 5)) > 0.3
    mask[..., 0] = True
    gradcheck(lambda a, b, c: scaled_dot_product_attention(a, b, c, attn_mask=mask)[0], q, k, v)


def test_float_mask_is_refused_with_the_convention():
    q = t64(np.zeros((2, 3)))
    with pytest.raises(TypeError, match="True = may attend"):
        scaled_dot_product_attention(q, q, q, attn_mask=np.zeros((2, 2)))
    with pytest.raises(ValueError, match=r"\(4, 4\).*\(2, 2\)"):
        scaled_dot_product_attention(q, q, q, attn_mask=np.ones((4, 4), dtype=bool))
    with pytest.raises(ValueError, match="same E"):
        scaled_dot_product_attention(q, t64(np.zeros((2, 4))), q)


def test_sdpa_dropout_only_in_training(rng):
    q, k, v = (t64(rng.standard_normal((4, 3))) for _ in range(3))
    a, _ = scaled_dot_product_attention(q, k, v, dropout_p=0.5, training=False)
    b, _ = scaled_dot_product_attention(q, k, v)
    np.testing.assert_array_equal(a.data, b.data)
    np.random.seed(0)
    c, w = scaled_dot_product_attention(q, k, v, dropout_p=0.5)
    assert np.any(w.data == 0.0) and not np.allclose(c.data, b.data)


# ---------------------------------------------------------------------- MultiHeadAttention
def numpy_mha(m, query, key, value, mask=None):
    """A per-head loop using the module's weights (mask broadcastable to (N, L, S))."""
    W = {n: p.data for n, p in m.named_parameters()}
    q = query @ W["q_proj.weight"].T + W["q_proj.bias"]
    k = key @ W["k_proj.weight"].T + W["k_proj.bias"]
    v = value @ W["v_proj.weight"].T + W["v_proj.bias"]
    d = m.head_dim
    heads, weights = [], []
    for h in range(m.num_heads):
        sl = slice(h * d, (h + 1) * d)
        o, w = numpy_attention(q[..., sl], k[..., sl], v[..., sl], mask)
        heads.append(o)
        weights.append(w)
    out = np.concatenate(heads, axis=-1) @ W["out_proj.weight"].T + W["out_proj.bias"]
    return out, np.stack(weights, axis=1)


def make_mha(rng, E=6, h=3, **kw):
    m = MultiHeadAttention(E, h, **kw).double()
    for p in m.parameters():  # non-zero biases so a missing bias would show
        p.data[...] = rng.standard_normal(p.shape) * 0.5
    return m


def test_mha_names_and_init():
    np.random.seed(0)
    m = MultiHeadAttention(8, 2)
    assert [n for n, _ in m.named_parameters()] == [
        f"{p}.{w}" for p in ("q_proj", "k_proj", "v_proj", "out_proj") for w in ("weight", "bias")]
    bound = np.sqrt(6 / (8 + 24))
    assert np.abs(m.q_proj.weight.data).max() <= bound
    assert np.all(m.q_proj.bias.data == 0) and np.all(m.out_proj.bias.data == 0)


def test_mha_matches_per_head_loop_with_masks(rng):
    m = make_mha(rng)
    N, L, S = 2, 3, 4
    query, key, value = rng.standard_normal((N, L, 6)), rng.standard_normal((N, S, 6)), rng.standard_normal((N, S, 6))
    kpm = np.array([[True, True, True, False], [True, False, True, True]])
    attn = np.ones((L, S), dtype=bool)
    attn[0, 2] = False
    out, w = m(query, key, value, attn_mask=attn, key_padding_mask=kpm, average_attn_weights=False)
    e_out, e_w = numpy_mha(m, query, key, value, attn[None] & kpm[:, None, :])
    assert out.shape == (N, L, 6) and w.shape == (N, 3, L, S)
    np.testing.assert_allclose(out.data, e_out, rtol=1e-10)
    np.testing.assert_allclose(w.data, e_w, rtol=1e-10)
    assert np.all(w.data[0, :, :, 3] == 0.0) and np.all(w.data[1, :, :, 1] == 0.0)  # padded keys get exactly 0
    _, w_avg = m(query, key, value, attn_mask=attn, key_padding_mask=kpm)
    np.testing.assert_allclose(w_avg.data, e_w.mean(axis=1), rtol=1e-10)
    assert m(query, key, value, need_weights=False)[1] is None


def test_mha_batch_first_false_and_causal(rng):
    m = make_mha(rng)
    x = rng.standard_normal((2, 4, 6))
    out_bf, w_bf = m(x, x, x, is_causal=True)
    m.batch_first = False
    out_tf, w_tf = m(x.transpose(1, 0, 2), x.transpose(1, 0, 2), x.transpose(1, 0, 2), is_causal=True)
    np.testing.assert_allclose(out_tf.data.transpose(1, 0, 2), out_bf.data, rtol=1e-12)
    assert np.all(np.triu(w_bf.data, 1) == 0)


def test_mha_gradcheck_inputs_and_parameters(rng):
    m = make_mha(rng, E=4, h=2)
    q, k, v = (t64(rng.standard_normal((2, s, 4)), True) for s in (3, 2, 2))
    kpm = np.array([[True, True], [True, False]])
    gradcheck(lambda a, b, c, *_: m(a, b, c, key_padding_mask=kpm)[0], q, k, v, *m.parameters())


def test_mha_errors():
    m = MultiHeadAttention(6, 3)
    x = np.zeros((2, 4, 6), dtype=np.float32)
    with pytest.raises(ValueError, match="divisible"):
        MultiHeadAttention(5, 2)
    with pytest.raises(ValueError, match=r"E=6.*\(2, 4, 5\)"):
        m(x, x, np.zeros((2, 4, 5), dtype=np.float32))
    with pytest.raises(ValueError, match=r"\(N, S\) = \(2, 4\)"):
        m(x, x, x, key_padding_mask=np.ones((4, 2), dtype=bool))
    with pytest.raises(TypeError, match="True = may attend"):
        m(x, x, x, key_padding_mask=np.zeros((2, 4)))


def test_mha_matches_torch(rng):
    torch = pytest.importorskip("torch")
    E, h, N, L, S = 6, 3, 2, 3, 4
    m = make_mha(rng, E, h)
    tm = torch.nn.MultiheadAttention(E, h, batch_first=True).double()
    W = {n: torch.from_numpy(p.data.copy()) for n, p in m.named_parameters()}
    with torch.no_grad():
        tm.in_proj_weight.copy_(torch.cat([W["q_proj.weight"], W["k_proj.weight"], W["v_proj.weight"]]))
        tm.in_proj_bias.copy_(torch.cat([W["q_proj.bias"], W["k_proj.bias"], W["v_proj.bias"]]))
        tm.out_proj.weight.copy_(W["out_proj.weight"])
        tm.out_proj.bias.copy_(W["out_proj.bias"])
    x, kv = rng.standard_normal((N, L, E)), rng.standard_normal((N, S, E))
    keep = np.array([[True, True, False, True], [True, True, True, True]])  # course polarity
    attn = np.tril(np.ones((L, S), dtype=bool))
    out, w = m(x, kv, kv, attn_mask=attn, key_padding_mask=keep)
    tx, tkv = torch.tensor(x), torch.tensor(kv)
    # PyTorch's MHA masks are the opposite polarity (True = ignore)
    tout, tw = tm(tx, tkv, tkv, attn_mask=torch.tensor(~attn), key_padding_mask=torch.tensor(~keep))
    np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(w.data, tw.detach().numpy(), rtol=1e-10, atol=1e-12)
    F = torch.nn.functional
    q, k, v = (rng.standard_normal((2, 3, s, 4)) for s in (3, 5, 5))
    mask = rng.random((3, 5)) > 0.3
    mask[:, 0] = True
    ours, _ = scaled_dot_product_attention(t64(q), t64(k), t64(v), attn_mask=mask)
    theirs = F.scaled_dot_product_attention(torch.tensor(q), torch.tensor(k), torch.tensor(v), attn_mask=torch.tensor(mask))
    np.testing.assert_allclose(ours.data, theirs.numpy(), rtol=1e-10, atol=1e-12)


def test_mha_runs_on_device(device, rng):
    m = MultiHeadAttention(4, 2).to(device)
    x = Tensor(rng.standard_normal((2, 3, 4)), device=device)
    out, w = m(x, x, x, key_padding_mask=np.array([[True, True, False], [True, True, True]]))
    out.sum().backward()
    assert out.device == device and m.q_proj.weight.grad is not None
