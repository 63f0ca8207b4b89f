"""Embedding, PositionalEncoding and TransformerEncoderLayer."""
import numpy as np
import pytest

from utils import Tensor, gradcheck
from utils.nn import Embedding, PositionalEncoding, TransformerEncoderLayer

F64 = np.float64


def t64(a, grad=False):
    return Tensor(np.array(a, dtype=F64), requires_grad=grad, dtype=F64)


# ---------------------------------------------------------------------- Embedding
def test_embedding_lookup_any_shape():
    np.random.seed(0)
    emb = Embedding(7, 3)
    idx = np.array([[0, 6, 2], [2, 2, 1]])
    out = emb(idx)
    assert out.shape == (2, 3, 3)
    np.testing.assert_array_equal(out.data, emb.weight.data[idx])
    assert emb(np.array(4)).shape == (3,)
    assert emb.weight.shape == (7, 3) and abs(float(Embedding(1000, 50).weight.data.std()) - 1.0) < 0.05  # N(0, 1)


def test_embedding_gradient_scatter_adds_repeats_and_skips_padding(rng):
    emb = Embedding(5, 2, padding_idx=1).double()
    np.testing.assert_array_equal(emb.weight.data[1], 0.0)
    idx = np.array([[3, 3, 1], [0, 3, 1]])
    g = rng.standard_normal((2, 3, 2))
    emb(idx).backward(g)
    expected = np.zeros((5, 2))
    np.add.at(expected, idx.reshape(-1), g.reshape(-1, 2))
    expected[1] = 0.0
    np.testing.assert_allclose(emb.weight.grad, expected, rtol=1e-12)
    assert Embedding(5, 2, padding_idx=-1).padding_idx == 4


def test_embedding_gradcheck():
    emb = Embedding(4, 3).double()  # (padding rows deliberately get no gradient; tested above)
    idx = np.array([[1, 2, 1], [0, 3, 3]])
    gradcheck(lambda w: emb(idx) * 1.5, emb.weight)


def test_utils_nn_embedding_is_the_module_not_the_function():
    """The package attribute is the submodule, so import-as and dotted monkeypatch paths reach its helpers."""
    import types

    import utils.nn
    import utils.nn.embedding as module

    assert isinstance(utils.nn.embedding, types.ModuleType) and module is utils.nn.embedding
    assert module.Embedding is Embedding and callable(module.embedding) and callable(module.scatter_rows)


@pytest.mark.parametrize("route", ["scatter_rows", "scatter_rows_loop"])
def test_embedding_gradcheck_each_scatter_twin(rng, monkeypatch, route):
    import utils.nn.embedding as module

    monkeypatch.setattr(module, "scatter_rows", getattr(module, route))
    emb = Embedding(6, 3).double()
    idx = rng.integers(0, 6, size=(4, 5))  # repeats: rows collect several gradients
    gradcheck(lambda w: emb(idx) * 1.5, emb.weight)


def test_embedding_scatter_matches_its_loop_twin(rng):
    from utils.nn.embedding import scatter_rows, scatter_rows_loop

    rows = rng.integers(0, 7, size=200)  # (M,) many repeats, some rows never hit
    g2 = rng.standard_normal((200, 5)).astype(np.float32)
    fast, loop = scatter_rows(g2, rows, 9), scatter_rows_loop(g2, rows, 9)
    assert fast.shape == (9, 5) and fast.dtype == np.float32
    np.testing.assert_allclose(fast, loop, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(fast[7:], 0.0)


def test_embedding_errors():
    emb = Embedding(4, 3)
    with pytest.raises(IndexError, match="index 4 is out of range for 4 embeddings"):
        emb(np.array([0, 4]))
    with pytest.raises(IndexError, match="-1"):
        emb(np.array([-1]))
    with pytest.raises(TypeError, match="integers, got dtype float"):
        emb(np.array([0.0, 1.0]))


# ---------------------------------------------------------------------- PositionalEncoding
def test_positional_encoding_table_and_forward():
    pe = PositionalEncoding(6, max_len=10)
    assert pe.pe.shape == (10, 6) and "pe" in pe.state_dict()
    assert list(pe.parameters()) == []
    pos, i = 3, 1  # dims 2 (sin) and 3 (cos) share the frequency 10000 ** (-2/6)
    np.testing.assert_allclose(pe.pe.data[pos, 2], np.sin(pos / 10000 ** (2 * i / 6)), rtol=1e-6)
    np.testing.assert_allclose(pe.pe.data[pos, 3], np.cos(pos / 10000 ** (2 * i / 6)), rtol=1e-6)
    np.testing.assert_array_equal(pe.pe.data[0, 0::2], 0.0)
    np.testing.assert_array_equal(pe.pe.data[0, 1::2], 1.0)
    x = np.random.default_rng(0).standard_normal((2, 4, 6)).astype(np.float32)
    out = pe(x)
    np.testing.assert_allclose(out.data, x + pe.pe.data[:4], rtol=1e-6)
    assert PositionalEncoding(5, max_len=3).pe.shape == (3, 5)  # odd d_model works


def test_positional_encoding_gradient_and_errors():
    pe = PositionalEncoding(4, max_len=5)
    x = t64(np.zeros((1, 3, 4)), True)
    gradcheck(lambda a: pe(a) * 2.0, x)
    with pytest.raises(ValueError, match="exceeds max_len=5"):
        pe(np.zeros((1, 6, 4), dtype=np.float32))
    with pytest.raises(ValueError, match=r"\(N, T, 4\)"):
        pe(np.zeros((1, 3, 5), dtype=np.float32))


# ---------------------------------------------------------------------- TransformerEncoderLayer
def test_encoder_layer_submodule_names():
    layer = TransformerEncoderLayer(8, 2, dim_feedforward=16)
    assert [n for n, _ in layer.named_children()] == ["self_attn", "linear1", "dropout", "linear2",
                                                      "norm1", "norm2", "dropout1", "dropout2"]
    assert layer.linear1.weight.shape == (16, 8) and layer.norm1.eps == 1e-5


def numpy_layer_norm(x, eps=1e-5):
    return (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + eps)


@pytest.mark.parametrize("norm_first", [False, True])
def test_encoder_layer_matches_written_out_formula(rng, norm_first):
    layer = TransformerEncoderLayer(4, 2, dim_feedforward=6, dropout=0.0, norm_first=norm_first).double()
    x = rng.standard_normal((2, 3, 4))
    keep = np.array([[True, True, False], [True, True, True]])

    def sa(z):
        return layer.self_attn(z, z, z, key_padding_mask=keep, need_weights=False)[0].data

    def ff(z):
        W1, b1 = layer.linear1.weight.data, layer.linear1.bias.data
        W2, b2 = layer.linear2.weight.data, layer.linear2.bias.data
        return np.maximum(z @ W1.T + b1, 0) @ W2.T + b2

    if norm_first:
        y = x + sa(numpy_layer_norm(x))
        expected = y + ff(numpy_layer_norm(y))
    else:
        y = numpy_layer_norm(x + sa(x))
        expected = numpy_layer_norm(y + ff(y))
    np.testing.assert_allclose(layer(x, src_key_padding_mask=keep).data, expected, rtol=1e-9, atol=1e-12)


def test_encoder_layer_gradcheck(rng):
    layer = TransformerEncoderLayer(4, 2, dim_feedforward=5, dropout=0.0, activation="gelu").double()
    x = t64(rng.standard_normal((2, 3, 4)), True)
    mask = np.tril(np.ones((3, 3), dtype=bool))
    gradcheck(lambda a, *_: layer(a, src_mask=mask), x, *layer.parameters())


def test_encoder_layer_dropout_and_errors(rng):
    layer = TransformerEncoderLayer(4, 2, dim_feedforward=8, dropout=0.5).double()
    x = rng.standard_normal((2, 3, 4))
    layer.eval()
    np.testing.assert_array_equal(layer(x).data, layer(x).data)
    layer.train()
    assert not np.allclose(layer(x).data, layer.eval()(x).data)
    with pytest.raises(ValueError, match="activation"):
        TransformerEncoderLayer(4, 2, activation="swish")
    with pytest.raises(ValueError, match=r"E=4.*\(2, 3, 5\)"):
        layer(np.zeros((2, 3, 5)))


def test_encoder_layer_matches_torch(rng):
    torch = pytest.importorskip("torch")
    layer = TransformerEncoderLayer(4, 2, dim_feedforward=6, dropout=0.0).double().eval()
    tl = torch.nn.TransformerEncoderLayer(4, 2, dim_feedforward=6, dropout=0.0, batch_first=True).double().eval()
    sd = {k: torch.from_numpy(v.copy()) for k, v in layer.state_dict().items()}
    sd["self_attn.in_proj_weight"] = torch.cat([sd.pop(f"self_attn.{p}_proj.weight") for p in "qkv"])
    sd["self_attn.in_proj_bias"] = torch.cat([sd.pop(f"self_attn.{p}_proj.bias") for p in "qkv"])
    tl.load_state_dict(sd)
    x = rng.standard_normal((2, 3, 4))
    keep = np.array([[True, True, False], [True, True, True]])
    ours = layer(x, src_key_padding_mask=keep).data
    with torch.no_grad():
        theirs = tl(torch.tensor(x), src_key_padding_mask=torch.tensor(~keep)).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-12)
