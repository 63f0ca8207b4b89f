"""BatchNorm1d/2d and LayerNorm: gradients, forward formula, running statistics, errors."""
import numpy as np
import pytest

import utils.nn as nn
from utils import Tensor, gradcheck


def t64(rng, *shape, requires_grad=True, scale=1.0, shift=0.0):
    return Tensor(rng.standard_normal(shape) * scale + shift, requires_grad=requires_grad, dtype=np.float64)


def reference_batch_norm(x, mean, var, w, b, eps):
    """Per-channel loop: (x[:, c] - mean[c]) / sqrt(var[c] + eps) * w[c] + b[c]."""
    out = np.empty_like(x)
    for c in range(x.shape[1]):
        out[:, c] = (x[:, c] - mean[c]) / np.sqrt(var[c] + eps) * w[c] + b[c]
    return out


# ---------------------------------------------------------------- batch norm
@pytest.mark.parametrize("shape", [(5, 3), (4, 3, 6), (3, 3, 4, 5)])
@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_gradcheck_every_input(rng, shape, training):
    x = t64(rng, *shape, scale=2.0, shift=1.0)
    w, b = t64(rng, 3), t64(rng, 3)
    rm, rv = Tensor(rng.standard_normal(3), dtype=np.float64), Tensor(rng.uniform(0.5, 2, 3), dtype=np.float64)
    # copies of the running stats so the repeated calls of gradcheck do not drift them
    fn = lambda x, w, b: nn.batch_norm(x, Tensor(rm.data.copy()), Tensor(rv.data.copy()), w, b, training=training)
    gradcheck(fn, x, w, b)
    gradcheck(lambda x: nn.batch_norm(x, Tensor(rm.data.copy()), Tensor(rv.data.copy()), training=training), x)


def test_batch_slices_cover_the_batch_once():
    from utils.nn.normalization import BATCH_SLICE_BYTES, batch_slices
    assert batch_slices(np, 32, 1000) == [slice(None)]  # small arrays: the plain passes
    sample = BATCH_SLICE_BYTES // 3  # three samples per slice
    parts = batch_slices(np, 20, sample)
    assert len(parts) == 7 and parts[-1] == slice(18, 20)
    assert np.array_equal(np.concatenate([np.arange(20)[p] for p in parts]), np.arange(20))
    assert batch_slices(np, 2, 64 * BATCH_SLICE_BYTES) == [slice(0, 1), slice(1, 2)]  # at least one sample


@pytest.mark.parametrize("training", [True, False])
def test_batch_norm_sliced_backward_matches_plain(rng, monkeypatch, training):
    """Slices of two samples over a batch of nine (the last one short) give the plain path's gradients."""
    from utils.nn import normalization
    x = t64(rng, 9, 3, 4, 5, scale=2.0, shift=1.0)
    w, b = t64(rng, 3), t64(rng, 3)
    rm, rv = rng.standard_normal(3), rng.uniform(0.5, 2, 3)
    g = rng.standard_normal(x.shape)
    fn = lambda x, w, b: nn.batch_norm(x, Tensor(rm.copy()), Tensor(rv.copy()), w, b, training=training)

    def grads():
        for t in (x, w, b):
            t.grad = None
        (fn(x, w, b) * Tensor(g)).sum().backward()
        return [t.grad.copy() for t in (x, w, b)]

    plain = grads()
    monkeypatch.setattr(normalization, "BATCH_SLICE_BYTES", 2 * x.data[:1].nbytes)
    assert len(normalization.batch_slices(np, 9, x.data[:1].nbytes)) == 5
    sliced = grads()
    for p, s in zip(plain, sliced):
        np.testing.assert_allclose(s, p, rtol=1e-12, atol=1e-12)
    gradcheck(fn, x, w, b)


def test_batchnorm2d_module_gradcheck_parameters(rng):
    bn = nn.BatchNorm2d(3).double()
    bn.weight.data = rng.standard_normal(3)
    bn.bias.data = rng.standard_normal(3)
    x = t64(rng, 2, 3, 3, 4)
    gradcheck(lambda x, w, b: bn(x), x, bn.weight, bn.bias)


def test_batchnorm_training_forward_and_running_stats(rng):
    bn = nn.BatchNorm2d(4, momentum=0.3)
    bn.weight.data = rng.standard_normal(4).astype(np.float32)
    bn.bias.data = rng.standard_normal(4).astype(np.float32)
    x = (rng.standard_normal((6, 4, 3, 5)) * 3 + 2).astype(np.float32)
    out = bn(x)
    assert out.dtype == np.float32
    mean, var = x.mean(axis=(0, 2, 3)), x.var(axis=(0, 2, 3))
    np.testing.assert_allclose(out.numpy(), reference_batch_norm(x, mean, var, bn.weight.numpy(), bn.bias.numpy(), 1e-5), rtol=1e-4, atol=1e-5)
    unbiased = x.var(axis=(0, 2, 3), ddof=1)
    np.testing.assert_allclose(bn.running_mean.numpy(), 0.7 * 0 + 0.3 * mean, rtol=1e-5)
    np.testing.assert_allclose(bn.running_var.numpy(), 0.7 * 1 + 0.3 * unbiased, rtol=1e-5)
    assert int(bn.num_batches_tracked.item()) == 1
    bn(x)
    assert int(bn.num_batches_tracked.item()) == 2
    np.testing.assert_allclose(bn.running_mean.numpy(), 0.3 * mean * (1 + 0.7), rtol=1e-5)


def test_batchnorm_eval_uses_running_stats(rng):
    bn = nn.BatchNorm1d(3)
    bn.running_mean.data = np.array([1.0, -2.0, 0.5], dtype=np.float32)
    bn.running_var.data = np.array([4.0, 0.25, 1.0], dtype=np.float32)
    bn.eval()
    x = rng.standard_normal((4, 3, 7)).astype(np.float32)
    before = bn.state_dict()
    out = bn(x)
    expected = reference_batch_norm(x, bn.running_mean.numpy(), bn.running_var.numpy(), np.ones(3), np.zeros(3), 1e-5)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-5, atol=1e-6)
    for k, v in bn.state_dict().items():
        np.testing.assert_array_equal(v, before[k])  # eval changes nothing
    # a single sample is fine in eval mode but not in training mode
    bn(x[:1, :, :1])
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        bn.train()(x[:1, :, :1])


def test_batchnorm_momentum_none_is_cumulative_average(rng):
    bn = nn.BatchNorm1d(2, momentum=None)
    batches = [rng.standard_normal((5, 2)).astype(np.float32) for _ in range(3)]
    for b in batches:
        bn(b)
    np.testing.assert_allclose(bn.running_mean.numpy(), np.mean([b.mean(0) for b in batches], axis=0), rtol=1e-5)


def test_batchnorm_without_running_stats_or_affine(rng):
    bn = nn.BatchNorm1d(3, affine=False, track_running_stats=False).eval()
    assert list(bn.state_dict()) == []
    x = rng.standard_normal((8, 3)).astype(np.float32)
    np.testing.assert_allclose(bn(x).numpy(), (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-5), rtol=1e-4, atol=1e-5)


def test_batchnorm_state_dict_names():
    model = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3))
    assert set(model.state_dict()) == {"0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var", "1.num_batches_tracked"}
    assert model.state_dict()["1.num_batches_tracked"].dtype == np.int64


def test_batchnorm_errors_name_expected_and_received():
    with pytest.raises(ValueError, match=r"BatchNorm2d\(3.*\(N, C, H, W\) with C=3.*\(2, 4, 5, 5\)"):
        nn.BatchNorm2d(3)(np.zeros((2, 4, 5, 5)))
    with pytest.raises(ValueError, match=r"BatchNorm2d.*\(2, 3, 5\)"):
        nn.BatchNorm2d(3)(np.zeros((2, 3, 5)))
    with pytest.raises(ValueError, match=r"BatchNorm1d.*\(N, C\) or \(N, C, L\).*\(2, 3, 4, 4\)"):
        nn.BatchNorm1d(3)(np.zeros((2, 3, 4, 4)))
    with pytest.raises(TypeError, match="float32.*float64"):
        nn.BatchNorm1d(3)(Tensor(np.zeros((2, 3)), dtype=np.float64))


def test_batchnorm_against_torch(rng):
    torch = pytest.importorskip("torch")
    ours, ref = nn.BatchNorm2d(3).double(), torch.nn.BatchNorm2d(3).double()
    ours.weight.data = rng.standard_normal(3)
    ref.load_state_dict({k: torch.from_numpy(np.asarray(v)) for k, v in ours.state_dict().items()})
    x = rng.standard_normal((4, 3, 5, 6)) * 2 + 1
    xo, xt = Tensor(x, requires_grad=True, dtype=np.float64), torch.tensor(x, requires_grad=True)
    out, ref_out = ours(xo), ref(xt)
    g = rng.standard_normal(out.shape)
    out.backward(g)
    ref_out.backward(torch.from_numpy(g))
    np.testing.assert_allclose(out.numpy(), ref_out.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(xo.grad, xt.grad.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ours.weight.grad, ref.weight.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(ours.bias.grad, ref.bias.grad.numpy(), rtol=1e-10)
    for k, v in ref.state_dict().items():
        np.testing.assert_allclose(np.asarray(ours.state_dict()[k]), v.numpy(), rtol=1e-10)
    ours.eval(), ref.eval()
    np.testing.assert_allclose(ours(x).numpy(), ref(torch.from_numpy(x)).detach().numpy(), rtol=1e-10, atol=1e-12)


# ---------------------------------------------------------------- layer norm
@pytest.mark.parametrize("normalized_shape", [5, (4, 5)])
def test_layer_norm_gradcheck_every_input(rng, normalized_shape):
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else normalized_shape
    x = t64(rng, 2, 3, *shape, scale=2.0, shift=-1.0)
    w, b = t64(rng, *shape), t64(rng, *shape)
    gradcheck(lambda x, w, b: nn.layer_norm(x, normalized_shape, w, b), x, w, b)
    gradcheck(lambda x: nn.layer_norm(x, normalized_shape), x)


def test_layer_norm_module_forward_and_gradcheck(rng, device):
    ln = nn.LayerNorm(6, device=device)
    assert ln.weight.shape == (6,) and list(ln.state_dict()) == ["weight", "bias"]
    x = (rng.standard_normal((2, 4, 6)) * 3 + 5).astype(np.float32)
    out = ln(x)
    assert out.dtype == np.float32 and out.device == device
    expected = np.empty_like(x)
    for i in range(2):
        for j in range(4):
            row = x[i, j]
            expected[i, j] = (row - row.mean()) / np.sqrt(row.var() + 1e-5)
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-4, atol=1e-5)
    ln64 = nn.LayerNorm(6).double()
    ln64.weight.data = rng.standard_normal(6)
    ln64.bias.data = rng.standard_normal(6)
    x64 = t64(rng, 3, 6)
    gradcheck(lambda x, w, b: ln64(x), x64, ln64.weight, ln64.bias)
    assert nn.LayerNorm(6, elementwise_affine=False).weight is None
    assert nn.LayerNorm(6, bias=False).bias is None


def test_layer_norm_errors():
    with pytest.raises(ValueError, match=r"LayerNorm\(\(6,\).*\(\*, 6\).*\(2, 5\)"):
        nn.LayerNorm(6)(np.zeros((2, 5)))
    with pytest.raises(TypeError, match="float32.*float64"):
        nn.LayerNorm(6)(Tensor(np.zeros((2, 6)), dtype=np.float64))


def test_layer_norm_against_torch(rng):
    torch = pytest.importorskip("torch")
    ours, ref = nn.LayerNorm((3, 4)).double(), torch.nn.LayerNorm((3, 4)).double()
    ours.weight.data, ours.bias.data = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    ref.load_state_dict({k: torch.from_numpy(v) for k, v in ours.state_dict().items()})
    x = rng.standard_normal((2, 3, 4)) * 2
    xo, xt = Tensor(x, requires_grad=True, dtype=np.float64), torch.tensor(x, requires_grad=True)
    out, ref_out = ours(xo), ref(xt)
    g = rng.standard_normal(out.shape)
    out.backward(g)
    ref_out.backward(torch.from_numpy(g))
    np.testing.assert_allclose(out.numpy(), ref_out.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(xo.grad, xt.grad.numpy(), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(ours.weight.grad, ref.weight.grad.numpy(), rtol=1e-10)
    np.testing.assert_allclose(ours.bias.grad, ref.bias.grad.numpy(), rtol=1e-10)


@pytest.mark.parametrize("affine, which", [("both", "x"), ("both", "weight"), ("both", "all"), ("weight only", "all"),
                                           ("weight only", "weight"), ("none", "all")])
def test_layer_norm_fused_matches_the_reference(rng, affine, which):
    """The fused path and ``layer_norm_reference`` (Tensor ops) agree on values and every gradient."""
    shape = (3, 4)
    xa = rng.standard_normal((2, 5, *shape)) * 2 + 1
    wa, ba = rng.standard_normal(shape), rng.standard_normal(shape)
    g = rng.standard_normal(xa.shape)
    results = []
    for fn in (nn.layer_norm, nn.layer_norm_reference):
        x = Tensor(xa, requires_grad=which in ("x", "all"), dtype=np.float64)
        w = Tensor(wa, requires_grad=which in ("weight", "all"), dtype=np.float64) if affine != "none" else None
        b = Tensor(ba, requires_grad=which == "all", dtype=np.float64) if affine == "both" else None
        out = fn(x, shape, w, b)
        out.backward(g)
        results.append([out.data] + [t.grad for t in (x, w, b) if t is not None])
    for got, want in zip(*results):
        if want is None:
            assert got is None
        else:
            np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)


def test_layer_norm_reference_gradcheck(rng):
    x = t64(rng, 2, 3, 5, scale=2.0, shift=-1.0)
    w, b = t64(rng, 5), t64(rng, 5)
    gradcheck(lambda x, w, b: nn.layer_norm_reference(x, 5, w, b), x, w, b)
