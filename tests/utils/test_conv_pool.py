"""Conv2d and pooling: gradients, forward against direct loops, tie routing, errors, torch."""
import numpy as np
import pytest

import utils.nn as nn
from utils import Tensor, gradcheck


def t64(rng, *shape, requires_grad=True):
    return Tensor(rng.standard_normal(shape), requires_grad=requires_grad, dtype=np.float64)


def direct_conv(x, w, b, stride, padding, dilation=(1, 1)):
    """A plain loop over output pixels: the textbook definition."""
    n, c, h, wd = x.shape
    o, _, kh, kw = w.shape
    (dh, dw) = dilation
    xp_ = np.pad(x, ((0, 0), (0, 0), (padding[0],) * 2, (padding[1],) * 2))
    ho = (h + 2 * padding[0] - dh * (kh - 1) - 1) // stride[0] + 1
    wo = (wd + 2 * padding[1] - dw * (kw - 1) - 1) // stride[1] + 1
    out = np.zeros((n, o, ho, wo))
    for i in range(ho):
        for j in range(wo):
            patch = xp_[:, :, i * stride[0]:i * stride[0] + dh * (kh - 1) + 1:dh, j * stride[1]:j * stride[1] + dw * (kw - 1) + 1:dw]
            out[:, :, i, j] = np.tensordot(patch, w, axes=([1, 2, 3], [1, 2, 3])) + b
    return out


CONV_CASES = [(1, 0), (2, 1), ((2, 1), (0, 2))]


@pytest.mark.parametrize("stride,padding", CONV_CASES)
def test_conv2d_forward_matches_direct_loop(rng, device, stride, padding):
    layer = nn.Conv2d(3, 4, (3, 2), stride, padding, device=device)
    x = rng.standard_normal((2, 3, 7, 6)).astype(np.float32)
    out = layer(x)
    s, p = (stride,) * 2 if isinstance(stride, int) else stride, (padding,) * 2 if isinstance(padding, int) else padding
    expected = direct_conv(x, layer.weight.numpy(), layer.bias.numpy(), s, p)
    assert out.shape == expected.shape and out.dtype == np.float32 and out.device == device
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("stride,padding", CONV_CASES)
def test_conv2d_gradcheck_every_input(rng, stride, padding):
    x, w, b = t64(rng, 2, 3, 5, 6), t64(rng, 4, 3, 3, 2), t64(rng, 4)
    gradcheck(lambda x, w, b: nn.conv2d(x, w, b, stride, padding), x, w, b)


def test_conv2d_dilation_and_no_bias_gradcheck(rng):
    x, w = t64(rng, 1, 2, 7, 6), t64(rng, 3, 2, 2, 2)
    gradcheck(lambda x, w: nn.conv2d(x, w, None, 1, 1, dilation=2), x, w)


def test_conv2d_module_gradcheck_parameters(rng):
    layer = nn.Conv2d(2, 3, 3, padding=1).double()
    x = t64(rng, 2, 2, 4, 5)
    gradcheck(lambda x, w, b: layer(x), x, layer.weight, layer.bias)


LAYOUTS = ["conv2d_channels_first", "conv2d_channels_last", "conv2d_flat_taps"]


def force_layout(monkeypatch, name):
    """Make ``conv2d`` use the layout ``name`` whatever the shape."""
    import importlib

    conv_module = importlib.import_module("utils.nn.conv")
    monkeypatch.setattr(conv_module, "choose_layout", lambda *shape: getattr(conv_module, name))


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("stride,padding,dilation,bias", [(1, 0, 1, True), (2, 1, 1, True), ((2, 1), (0, 2), 1, False),
                                                          (1, 1, 2, True), (1, (2, 0), (1, 2), False), (1, (0, 2), 1, True)])
def test_every_conv_layout_matches_direct_loop_and_gradchecks(rng, monkeypatch, layout, stride, padding, dilation, bias):
    if layout == "conv2d_flat_taps" and stride != 1:
        pytest.skip("flat taps is a stride-1 layout (conv2d never picks it otherwise)")
    force_layout(monkeypatch, layout)
    x, w, b = t64(rng, 2, 3, 7, 6), t64(rng, 4, 3, 3, 2), t64(rng, 4) if bias else None
    s, p, d = nn.conv.pair(stride, "s", "t"), nn.conv.pair(padding, "p", "t"), nn.conv.pair(dilation, "d", "t")
    expected = direct_conv(x.numpy(), w.numpy(), b.numpy() if bias else np.zeros(4), s, p, d)
    np.testing.assert_allclose(nn.conv2d(x, w, b, stride, padding, dilation).numpy(), expected, rtol=1e-12, atol=1e-12)
    inputs = (x, w, b) if bias else (x, w)
    gradcheck(lambda x, w, *b: nn.conv2d(x, w, b[0] if b else None, stride, padding, dilation), *inputs)


@pytest.mark.parametrize("shape,kernel,padding,bias", [((1, 2, 5, 4), (3, 3), 1, True), ((5, 3, 4, 7), (2, 3), 0, False),
                                                       ((3, 1, 6, 5), (5, 5), 2, True), ((4, 2, 3, 3), (1, 1), 0, True)])
@pytest.mark.parametrize("images_per_chunk", [1, 2])
def test_flat_taps_across_chunks_odd_sizes_and_batch_one(rng, monkeypatch, shape, kernel, padding, bias, images_per_chunk):
    """Chunks of one or two images (a part-filled last chunk), odd and non-square maps, 1x1 kernels."""
    import importlib

    ho, wo = shape[2] + 2 * padding - kernel[0] + 1, shape[3] + 2 * padding - kernel[1] + 1
    columns_per_image = ho * max(wo, shape[3] + padding)  # the flat output grid Ho x R
    monkeypatch.setattr(importlib.import_module("utils.nn.conv_flat"), "CHUNK_COLUMNS", images_per_chunk * columns_per_image)
    force_layout(monkeypatch, "conv2d_flat_taps")
    x, w, b = t64(rng, *shape), t64(rng, 3, shape[1], *kernel), t64(rng, 3) if bias else None
    expected = direct_conv(x.numpy(), w.numpy(), b.numpy() if bias else np.zeros(3), (1, 1), (padding, padding))
    np.testing.assert_allclose(nn.conv2d(x, w, b, 1, padding).numpy(), expected, rtol=1e-12, atol=1e-12)
    inputs = (x, w, b) if bias else (x, w)
    gradcheck(lambda x, w, *b: nn.conv2d(x, w, b[0] if b else None, 1, padding), *inputs)


def test_flat_taps_float32_matches_channels_first_on_the_benchmark_shape(rng):
    """float32 flat taps against the im2col layout and a float64 reference, every output and gradient."""
    x, w, b = (rng.standard_normal(s).astype(np.float32) for s in ((4, 32, 16, 16), (64, 32, 3, 3), (64,)))
    g = rng.standard_normal((4, 64, 16, 16)).astype(np.float32)
    args = ((1, 1), (1, 1), (1, 1), (16, 16))
    out, grads = nn.conv.conv2d_flat_taps(x, w, b, *args)
    got = (out,) + grads(g, True, True, True)
    out64, grads64 = nn.conv.conv2d_channels_first(*(a.astype(np.float64) for a in (x, w, b)), *args)
    exact = (out64,) + grads64(g.astype(np.float64), True, True, True)
    out32, grads32 = nn.conv.conv2d_channels_first(x, w, b, *args)
    current = (out32,) + grads32(g, True, True, True)
    for name, a, e, c in zip(["out", "gx", "gw", "gb"], got, exact, current):
        assert a.dtype == np.float32 and a.shape == e.shape, name
        assert np.abs(a - e).max() / np.abs(e).max() < 1e-5, name
        np.testing.assert_allclose(a, c, rtol=1e-4, atol=1e-4 * np.abs(e).max(), err_msg=name)


def test_flat_taps_refuses_a_stride():
    with pytest.raises(ValueError, match="stride must be"):
        nn.conv.conv2d_flat_taps(np.zeros((1, 1, 4, 4)), np.zeros((1, 1, 3, 3)), None, (2, 2), (0, 0), (1, 1), (1, 1))


def test_conv2d_picks_flat_taps_for_stride_one_only():
    assert nn.conv.choose_layout(3, (1, 1), 32, 32) is nn.conv.conv2d_flat_taps
    assert nn.conv.choose_layout(3, (2, 2), 16, 16) is nn.conv.conv2d_channels_first
    assert nn.conv.choose_layout(64, (1, 1), 4, 4) is nn.conv.conv2d_channels_last


def test_conv2d_layouts_agree_on_a_resnet_sized_map(rng):
    """The layout switch (many channels, small map) gives the same numbers as the other layouts."""
    x = Tensor(rng.standard_normal((4, 64, 4, 4)), requires_grad=True, dtype=np.float64)
    w, b = Tensor(rng.standard_normal((8, 64, 3, 3)), requires_grad=True, dtype=np.float64), Tensor(np.zeros(8), dtype=np.float64)
    assert nn.conv.use_channels_last(64, 4, 4) and not nn.conv.use_channels_last(3, 32, 32)
    for stride, out_hw in (((2, 2), (2, 2)), ((1, 1), (4, 4))):
        g = rng.standard_normal((4, 8) + out_hw)
        layouts = [nn.conv.conv2d_channels_last, nn.conv.conv2d_channels_first] + [nn.conv.conv2d_flat_taps] * (stride == (1, 1))
        results = []
        for layout in layouts:
            out, grads = layout(x.data, w.data, b.data, stride, (1, 1), (1, 1), out_hw)
            results.append((out,) + grads(g, True, True, True))
        for other in results[1:]:
            for a, e in zip(other, results[0]):
                np.testing.assert_allclose(a, e, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("stride,padding,dilation", [(1, 1, 1), ((2, 1), (0, 2), 1), (1, (2, 0), (1, 2))])
def test_channels_last_weight_gradient_in_both_product_orders(rng, monkeypatch, stride, padding, dilation):
    """Large weights take their gradient as (O, kh*kw*C): same numbers as the (kh*kw*C, O) order, and gradchecked."""
    force_layout(monkeypatch, "conv2d_channels_last")
    x, w, b = t64(rng, 2, 3, 7, 6), t64(rng, 4, 3, 3, 2), t64(rng, 4)
    g = rng.standard_normal(nn.conv2d(x, w, b, stride, padding, dilation).shape)
    grads = {}
    for large in (1, 10**9):  # every weight counts as large / none does
        monkeypatch.setattr(nn.conv, "LARGE_WEIGHT", large)
        w.grad = None
        nn.conv2d(x, w, b, stride, padding, dilation).backward(g)
        grads[large] = w.grad
        gradcheck(lambda x, w, b: nn.conv2d(x, w, b, stride, padding, dilation), x, w, b)
    np.testing.assert_allclose(grads[1], grads[10**9], rtol=1e-12, atol=1e-12)
    assert grads[1].shape == w.shape and grads[1].flags.c_contiguous

def test_conv2d_layout_init_and_state_dict():
    np.random.seed(0)
    model = nn.Sequential(nn.Conv2d(3, 8, 5), nn.BatchNorm2d(8))
    assert model[0].weight.shape == (8, 3, 5, 5) and model[0].bias.shape == (8,)
    assert set(model.state_dict()) == {"0.weight", "0.bias", "1.weight", "1.bias", "1.running_mean", "1.running_var", "1.num_batches_tracked"}
    assert np.abs(model[0].weight.numpy()).max() <= 1 / np.sqrt(75)
    assert nn.Conv2d(3, 8, 3, bias=False).bias is None


def test_conv2d_keeps_float32(rng):
    layer = nn.Conv2d(3, 4, 3, padding=1)
    x = Tensor(rng.standard_normal((2, 3, 6, 6)), requires_grad=True)
    out = layer(x)
    out.backward(np.ones(out.shape, dtype=np.float32))
    assert out.dtype == x.grad.dtype == layer.weight.grad.dtype == layer.bias.grad.dtype == np.float32


def test_conv2d_errors_name_expected_and_received():
    layer = nn.Conv2d(3, 4, 3)
    with pytest.raises(ValueError, match=r"Conv2d\(3, 4.*\(N, 3, H, W\).*\(3, 8, 8\)"):
        layer(np.zeros((3, 8, 8)))
    with pytest.raises(ValueError, match=r"\(N, 3, H, W\).*\(2, 1, 8, 8\)"):
        layer(np.zeros((2, 1, 8, 8)))
    with pytest.raises(TypeError, match="float32.*float64"):
        layer(Tensor(np.zeros((2, 3, 8, 8)), dtype=np.float64))
    with pytest.raises(ValueError, match="smaller than"):
        layer(np.zeros((1, 3, 2, 2)))


# ---------------------------------------------------------------- pooling
def direct_pool(x, k, s, p, reduce, fill):
    n, c, h, w = x.shape
    xp_ = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)), constant_values=fill)
    ho, wo = (h + 2 * p - k) // s + 1, (w + 2 * p - k) // s + 1
    out = np.zeros((n, c, ho, wo))
    for i in range(ho):
        for j in range(wo):
            out[:, :, i, j] = reduce(xp_[:, :, i * s:i * s + k, j * s:j * s + k], axis=(2, 3))
    return out


@pytest.mark.parametrize("k,s,p", [(2, None, 0), (3, 2, 1), (3, 1, 1)])
def test_pool_forward_matches_loops_and_gradcheck(rng, device, k, s, p):
    x = rng.standard_normal((2, 3, 7, 6))
    stride = k if s is None else s
    mx = nn.MaxPool2d(k, s, p)(Tensor(x, device=device))
    av = nn.AvgPool2d(k, s, p)(Tensor(x, device=device))
    np.testing.assert_allclose(mx.numpy(), direct_pool(x, k, stride, p, np.max, -np.inf), rtol=1e-6)
    np.testing.assert_allclose(av.numpy(), direct_pool(x, k, stride, p, np.mean, 0.0), rtol=1e-5, atol=1e-6)
    x64 = Tensor(x, requires_grad=True, dtype=np.float64)  # continuous values: no ties, max is smooth
    gradcheck(lambda x: nn.max_pool2d(x, k, s, p), x64)
    gradcheck(lambda x: nn.avg_pool2d(x, k, s, p), x64)


def test_max_pool_ties_route_gradient_to_first_max_only():
    x = Tensor(np.array([[[[1.0, 1.0, 0.0, 2.0],
                           [1.0, 0.0, 2.0, 2.0]]]]), requires_grad=True)
    out = nn.max_pool2d(x, 2)
    np.testing.assert_array_equal(out.numpy(), [[[[1.0, 2.0]]]])
    out.backward(np.array([[[[10.0, 20.0]]]]))
    np.testing.assert_array_equal(x.grad, [[[[10.0, 0.0, 0.0, 20.0], [0.0, 0.0, 0.0, 0.0]]]])
    assert x.grad.sum() == 30.0  # never duplicated across ties


def test_max_pool_nan_wins_its_window_and_takes_the_gradient():
    """A NaN propagates (as in PyTorch) and its window's gradient goes to the window's last NaN."""
    nan = np.nan
    x = Tensor(np.array([[[[nan, 1.0, 3.0, 2.0],
                           [5.0, nan, 0.0, 1.0]]]], dtype=np.float32), requires_grad=True)
    out = nn.max_pool2d(x, 2)
    assert np.isnan(out.numpy()[0, 0, 0, 0]) and out.numpy()[0, 0, 0, 1] == 3.0
    out.backward(np.array([[[[10.0, 20.0]]]]))
    np.testing.assert_array_equal(x.grad, [[[[0.0, 0.0, 20.0, 0.0], [0.0, 10.0, 0.0, 0.0]]]])


def test_overlapping_max_windows_accumulate_gradient():
    x = Tensor(np.array([[[[0.0, 5.0, 0.0, 0.0]]]]), requires_grad=True)
    out = nn.max_pool2d(x, (1, 2), stride=1)  # the 5 wins two windows
    out.backward(np.ones(out.shape))
    np.testing.assert_array_equal(x.grad, [[[[0.0, 2.0, 1.0, 0.0]]]])


@pytest.mark.parametrize("k,s,p", [(3, 2, 1), (3, 1, 0), (2, 2, 0), ((2, 3), (1, 2), (1, 0))])
def test_max_pool_backward_scatter_matches_loop_twin_with_ties(rng, k, s, p):
    from utils.nn import pooling

    kernel, stride, pad = (nn.conv.pair(v, "v", "test") for v in (k, s, p))
    x = np.round(rng.standard_normal((2, 3, 7, 6)) * 2) / 2  # coarse values: many ties
    padded = np.pad(x, ((0, 0), (0, 0), (pad[0],) * 2, (pad[1],) * 2), constant_values=-np.inf)
    padded_shape = padded.shape
    ho, wo = (padded_shape[2] - kernel[0]) // stride[0] + 1, (padded_shape[3] - kernel[1]) // stride[1] + 1
    first_max = np.zeros((2, 3, ho, wo), dtype=np.uint8)  # row-major index of each window's first maximum
    for i in range(ho):
        for j in range(wo):
            window = padded[:, :, i * stride[0]:i * stride[0] + kernel[0], j * stride[1]:j * stride[1] + kernel[1]]
            first_max[:, :, i, j] = window.reshape(2, 3, -1).argmax(axis=-1)
    g = rng.standard_normal((2, 3, ho, wo))
    loop = pooling.max_pool_backward_loop(g, first_max, padded_shape, kernel, stride)
    scatter = pooling.max_pool_backward_scatter(g, first_max, padded_shape, kernel, stride)
    np.testing.assert_allclose(scatter, loop, rtol=1e-12, atol=1e-12)
    assert abs(loop.sum() - g.sum()) < 1e-9  # every window's gradient lands once, never duplicated



def test_scatter_add_twins_agree_on_repeated_indices(rng):
    """``np.add.at`` (NumPy's path) and ``bincount`` (other backends) sum repeated indices alike."""
    from utils.nn import pooling

    index = rng.integers(0, 7, 50)  # every slot hit several times, slot 7 never
    values = rng.standard_normal(50).astype(np.float32)
    expected = np.array([values[index == i].astype(np.float64).sum() for i in range(8)])
    for add in (pooling.scatter_add_at, pooling.scatter_add_bincount):
        out = add(index, values, 8)
        assert out.dtype == np.float32 and out.shape == (8,) and out[7] == 0.0
        np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("shape,k,s,p", [((3, 4, 9, 8), 3, 2, 0), ((2, 3, 7, 6), 3, 2, 1), ((2, 2, 6, 7), (2, 3), (2, 3), 0),
                                         ((2, 3, 7, 6), 3, 1, 1)])
def test_max_pool_float32_matches_a_window_argmax_with_ties_and_repeated_shapes(rng, shape, k, s, p):
    """The forward (scratch copies for strided columns) and the backward (cached window corners, called
    twice on the same shapes) against ``argmax`` over each window, float32, with many ties."""
    kernel, stride, pad = (nn.conv.pair(v, "v", "test") for v in (k, s, p))
    x = (np.round(rng.standard_normal(shape) * 2) / 2).astype(np.float32)  # coarse values: many ties
    padded = np.pad(x, ((0, 0), (0, 0), (pad[0],) * 2, (pad[1],) * 2), constant_values=-np.inf)
    ho, wo = (padded.shape[2] - kernel[0]) // stride[0] + 1, (padded.shape[3] - kernel[1]) // stride[1] + 1
    for _ in range(2):  # the second call reuses the cached corners
        g = rng.standard_normal((shape[0], shape[1], ho, wo)).astype(np.float32)
        xt = Tensor(x, requires_grad=True)
        out = nn.max_pool2d(xt, k, s, p)
        out.backward(g)
        expected_out = np.zeros((shape[0], shape[1], ho, wo), dtype=np.float32)
        expected_grad = np.zeros(padded.shape)
        for i in range(ho):
            for j in range(wo):
                r, c = i * stride[0], j * stride[1]
                window = padded[:, :, r:r + kernel[0], c:c + kernel[1]].reshape(shape[0], shape[1], -1)
                first = window.argmax(axis=-1)  # row-major first maximum
                expected_out[:, :, i, j] = window.max(axis=-1)
                pr, pc = np.divmod(first, kernel[1])
                for a in range(shape[0]):
                    for b in range(shape[1]):
                        expected_grad[a, b, r + pr[a, b], c + pc[a, b]] += g[a, b, i, j]
        np.testing.assert_array_equal(out.numpy(), expected_out)
        np.testing.assert_allclose(xt.grad, expected_grad[:, :, pad[0]:pad[0] + shape[2], pad[1]:pad[1] + shape[3]],
                                   rtol=1e-6, atol=1e-6)

@pytest.mark.parametrize("route", ["loop", "scatter"])
def test_max_pool_gradcheck_each_backward_route(rng, monkeypatch, route):
    from utils.nn import pooling

    twin = getattr(pooling, f"max_pool_backward_{route}")
    monkeypatch.setattr(pooling, "max_pool_backward_scatter", twin)  # overlapping windows take this name
    monkeypatch.setattr(pooling, "max_pool_backward_loop", twin)
    x = Tensor(rng.standard_normal((2, 2, 7, 6)), requires_grad=True, dtype=np.float64)
    gradcheck(lambda x: nn.max_pool2d(x, 3, 2, 1), x)
    gradcheck(lambda x: nn.max_pool2d(x, 2), x)


def test_adaptive_avg_pool(rng):
    x = rng.standard_normal((2, 3, 8, 6))
    out = nn.AdaptiveAvgPool2d((4, 2))(Tensor(x, dtype=np.float64))
    expected = x.reshape(2, 3, 4, 2, 2, 3).mean(axis=(3, 5))
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-12)
    glob = nn.AdaptiveAvgPool2d(1)(Tensor(x, dtype=np.float64))
    assert glob.shape == (2, 3, 1, 1)
    np.testing.assert_allclose(glob.numpy()[..., 0, 0], x.mean(axis=(2, 3)), rtol=1e-12)
    gradcheck(lambda x: nn.adaptive_avg_pool2d(x, (2, 3)), Tensor(x, requires_grad=True, dtype=np.float64))
    with pytest.raises(ValueError, match=r"output size \(3, 2\) must divide.*\(8, 6\)"):
        nn.adaptive_avg_pool2d(Tensor(x), (3, 2))


def test_pool_errors():
    with pytest.raises(ValueError, match=r"max_pool2d: expected input of shape \(N, C, H, W\), got \(3, 8, 8\)"):
        nn.MaxPool2d(2)(np.zeros((3, 8, 8)))
    with pytest.raises(ValueError, match="at most half"):
        nn.max_pool2d(Tensor(np.zeros((1, 1, 8, 8))), 2, padding=2)
    with pytest.raises(TypeError, match="floating"):
        nn.avg_pool2d(Tensor(np.zeros((1, 1, 4, 4), dtype=np.int64)), 2)


# ---------------------------------------------------------------- torch
def test_conv_and_pool_against_torch(rng):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    x = np.round(rng.standard_normal((2, 3, 9, 8)) * 2) / 2  # coarse values: ties in max pooling
    w, b = rng.standard_normal((5, 3, 3, 3)), rng.standard_normal(5)
    ours = [Tensor(a, requires_grad=True, dtype=np.float64) for a in (x, w, b)]
    theirs = [torch.tensor(a, requires_grad=True) for a in (x, w, b)]
    out = nn.max_pool2d(nn.conv2d(*ours, stride=(2, 1), padding=1), 2, 1) + nn.avg_pool2d(ours[0], 3, 2, 1).sum()
    ref = F.max_pool2d(F.conv2d(*theirs, stride=(2, 1), padding=1), 2, 1) + F.avg_pool2d(theirs[0], 3, 2, 1).sum()
    g = rng.standard_normal(out.shape)
    out.backward(g)
    ref.backward(torch.from_numpy(g))
    np.testing.assert_allclose(out.numpy(), ref.detach().numpy(), rtol=1e-10, atol=1e-10)
    for a, t in zip(ours, theirs):
        np.testing.assert_allclose(a.grad, t.grad.numpy(), rtol=1e-9, atol=1e-10)
    tie = np.round(rng.standard_normal((1, 2, 6, 6)))
    a, t = Tensor(tie, requires_grad=True, dtype=np.float64), torch.tensor(tie, requires_grad=True)
    nn.max_pool2d(a, 3, 1, 1).backward(np.ones((1, 2, 6, 6)))
    F.max_pool2d(t, 3, 1, 1).backward(torch.ones(1, 2, 6, 6, dtype=torch.float64))
    np.testing.assert_array_equal(a.grad, t.grad.numpy())
