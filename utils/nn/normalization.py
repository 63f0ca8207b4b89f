"""Batch normalisation (``BatchNorm1d``, ``BatchNorm2d``) and ``LayerNorm``, with fused backwards.

Both normalise ``x`` to ``x_hat = (x - mean) / sqrt(var + eps)`` and return
``x_hat * weight + bias``. Batch norm takes statistics per channel over the batch (and
spatial axes); layer norm takes them per sample over the trailing ``normalized_shape``.
The variance used for normalising is the biased one (divide by n), as in PyTorch.

The fused backward of ``y = x_hat * w`` over a group of ``M`` entries is

    dx = w / sqrt(var + eps) * (g - mean(g) - x_hat * mean(g * x_hat))

(per channel for batch norm, per sample for layer norm), which saves building the
graph of a dozen elementwise ops.
"""
from __future__ import annotations

import functools
import math

import numpy as np

from ..backend import check_device, get_array_module, xp_for
from ..tensor import DEFAULT_DTYPE, Tensor, as_tensor, fresh_gradients
from .linear import check_same_float_dtype
from .module import Module, Parameter


def channel_sum(a, b=None):
    """Per-channel sum of ``a`` (or of ``a * b``) over every axis but axis 1: (N, C, *) -> (C,).

    One ``einsum`` pass: faster than ``.sum(axis=(0, 2, 3))`` on NCHW arrays, and the
    product ``a * b`` is never stored.
    """
    xp = get_array_module(a)
    n, c = a.shape[:2]
    a3 = a.reshape(n, c, -1)  # (N, C, L)
    if b is None:
        return xp.einsum("ncl->c", a3)
    return xp.einsum("ncl,ncl->c", a3, b.reshape(n, c, -1))


def per_channel(v, length: int):
    """A (C,) vector as (C, L): each channel's value repeated ``length`` times.

    Against an (N, C, L) array this broadcasts over N alone, so NumPy runs one long inner
    loop per sample instead of one short loop per (sample, channel): with L = 8 x 8 a pass
    takes about a quarter less time. The values are those of broadcasting (1, C, 1).
    """
    return get_array_module(v).repeat(v, length).reshape(len(v), length)  # (C, L)


BATCH_SLICE_BYTES = 256 * 1024  # about one core's L2 cache: the size of one slice of a sliced pass


def batch_slices(xp, n: int, sample_bytes: int) -> list:
    """Slices of the batch axis over which ``batch_norm`` runs its elementwise passes.

    Args:
        n: N, the batch size; sample_bytes: bytes of one sample of one (N, C, L) array.
    Returns:
        one ``slice(None)`` for CuPy arrays and for arrays up to 4 * ``BATCH_SLICE_BYTES``;
        otherwise consecutive slices of about ``BATCH_SLICE_BYTES`` (at least one sample) each.
        Running the four passes of one slice of ``dx`` back to back keeps that slice in cache:
        on (32, 16, 32, 32) the backward takes about a quarter less time (slicing the forward's
        two-operation passes measured no gain).
    """
    if xp is not np or n * sample_bytes <= 4 * BATCH_SLICE_BYTES:
        return [slice(None)]
    step = max(1, BATCH_SLICE_BYTES // max(1, sample_bytes))
    return [slice(start, min(n, start + step)) for start in range(0, n, step)]


def batch_norm(x, running_mean, running_var, weight=None, bias=None, training: bool = False,
               momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Normalise each channel of ``x`` over the batch (and any trailing axes).

    Args:
        x: (N, C) or (N, C, L) or (N, C, H, W) - channel axis 1.
        running_mean: (C,) Tensor or None; updated in place when ``training``.
        running_var: (C,) Tensor or None; updated in place with the UNBIASED batch variance.
        weight: (C,) or None (scale 1).
        bias: (C,) or None (shift 0).
        training: use batch statistics (and update the running ones); otherwise use the running ones.
        momentum: ``running = (1 - momentum) * running + momentum * batch_statistic``.
        eps: added to the variance before the square root.
    Returns:
        same shape as ``x``.

    Every full-size pass works on ``x`` viewed as (N, C, L) (L = H * W, or 1) against
    per-channel vectors expanded to (C, L) by ``per_channel``; the graph keeps ``x - mean``
    (not ``x_hat``), and the backward is the module docstring's formula regrouped as
    ``dx = g * s1 + (x - mean) * s2 + s3`` with per-channel ``s1, s2, s3``. On large arrays
    the four passes that make ``dx`` run slice by slice of the batch (``batch_slices``);
    with one slice they are the plain passes.
    """
    x = as_tensor(x)
    if x.ndim < 2:
        raise ValueError(f"batch_norm: expected input of shape (N, C, *), got {x.shape}")
    xp = x.xp
    a = x.data
    channels = a.shape[1]
    for name, t in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight), ("bias", bias)):
        if t is not None and t.shape != (channels,):
            raise ValueError(f"batch_norm: expected {name} of shape ({channels},) for input {x.shape}, got {t.shape}")
    a3 = a.reshape(a.shape[0], channels, -1)  # (N, C, L)
    length = a3.shape[2]
    count = a.size // channels  # entries per channel: N * L
    if training:
        if count <= 1:
            raise ValueError(f"batch_norm: expected more than 1 value per channel when training, got input of shape {x.shape}")
        mean = channel_sum(a3) / count  # (C,)
        centred = a3 - per_channel(mean, length)  # (N, C, L)
        var = channel_sum(centred, centred) / count  # (C,) biased
        if running_mean is not None:
            running_mean.data[...] = (1.0 - momentum) * running_mean.data + momentum * mean
        if running_var is not None:
            running_var.data[...] = (1.0 - momentum) * running_var.data + momentum * var * (count / (count - 1))
    else:
        if running_mean is None or running_var is None:
            raise ValueError("batch_norm: evaluation mode (training=False) needs running_mean and running_var")
        mean, var = running_mean.data.astype(a.dtype, copy=False), running_var.data.astype(a.dtype, copy=False)
        centred = a3 - per_channel(mean, length)  # (N, C, L)
    invstd = (1.0 / xp.sqrt(var + eps)).astype(a.dtype, copy=False)  # (C,)
    scale = invstd * weight.data if weight is not None else invstd  # (C,): y = centred * scale + bias
    scale_cl = per_channel(scale, length)  # (C, L)
    out = centred * scale_cl  # (N, C, L)
    if bias is not None:
        out += per_channel(bias.data, length)  # in place: out is ours

    @fresh_gradients
    def backward(g):
        g3 = g.reshape(centred.shape)  # (N, C, L)
        slices = batch_slices(xp, len(g3), g3[:1].nbytes)  # the passes of dx run slice by slice
        sum_g = channel_sum(g3)  # (C,)
        sum_g_xhat = channel_sum(g3, centred) * invstd  # (C,): sum of g * x_hat
        gx = gw = gb = None
        if x.requires_grad:
            gx = xp.empty(centred.shape, dtype=g3.dtype)  # (N, C, L)
            if training:  # dx = scale * (g - mean(g) - x_hat * mean(g * x_hat)), x_hat = centred * invstd
                s2 = per_channel(-scale * invstd * sum_g_xhat / count, length)  # (C, L)
                s3 = per_channel(-scale * sum_g / count, length)  # (C, L)
                spare = xp.empty((slices[0].stop or len(gx),) + gx.shape[1:], dtype=gx.dtype)  # one slice of centred * s2
            for part in slices:  # the passes of one slice of dx back to back, while it is in cache
                xp.multiply(g3[part], scale_cl, out=gx[part])
                if training:
                    term = xp.multiply(centred[part], s2, out=spare[:len(gx[part])])
                    gx[part] += term
                    gx[part] += s3
            gx = gx.reshape(x.shape)
        if weight is not None and weight.requires_grad:
            gw = sum_g_xhat
        if bias is not None and bias.requires_grad:
            gb = sum_g
        return tuple(gr for gr, t in zip((gx, gw, gb), (x, weight, bias)) if t is not None)

    parents = tuple(t for t in (x, weight, bias) if t is not None)
    return Tensor._make(out.reshape(x.shape), parents, backward, "batch_norm")


class _BatchNorm(Module):
    """Shared machinery of BatchNorm1d and BatchNorm2d; subclasses say which ranks they accept."""

    _ranks = ()
    _shapes = ""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1, affine: bool = True,
                 track_running_stats: bool = True, device=None, dtype=None):
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        xp = xp_for(check_device(device))
        dtype = dtype or DEFAULT_DTYPE
        if affine:
            self.weight = Parameter(xp.ones(num_features, dtype=dtype), dtype=dtype)
            self.bias = Parameter(xp.zeros(num_features, dtype=dtype), dtype=dtype)
        else:
            self.weight = None
            self.bias = None
        if track_running_stats:
            self.register_buffer("running_mean", Tensor(xp.zeros(num_features, dtype=dtype), dtype=dtype))
            self.register_buffer("running_var", Tensor(xp.ones(num_features, dtype=dtype), dtype=dtype))
            self.register_buffer("num_batches_tracked", Tensor(xp.zeros((), dtype=np.int64)))
        else:
            self.running_mean = None
            self.running_var = None
            self.num_batches_tracked = None

    def forward(self, x) -> Tensor:
        x = self._input(x)
        if x.ndim not in self._ranks or x.shape[1] != self.num_features:
            raise ValueError(f"{self!r}: expected input of shape {self._shapes} with C={self.num_features}, got {x.shape}")
        if self.weight is not None:
            check_same_float_dtype(self, x, self.weight)
        momentum = self.momentum
        if self.training and self.track_running_stats:
            self.num_batches_tracked.data += 1
            if momentum is None:  # cumulative moving average, as PyTorch does for momentum=None
                momentum = 1.0 / float(self.num_batches_tracked.data)
        use_batch_stats = self.training or not self.track_running_stats
        return batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                          use_batch_stats, momentum, self.eps)

    def extra_repr(self) -> str:
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """PyTorch's ``nn.BatchNorm1d``: per-channel normalisation with running statistics.

    Args:
        num_features: C.
        eps: added to the variance (1e-5).
        momentum: weight of the new batch in the running statistics (0.1; None = cumulative average).
        affine: learn ``weight`` (ones) and ``bias`` (zeros), both (C,).
        track_running_stats: keep buffers ``running_mean`` (C,), ``running_var`` (C,) and
            ``num_batches_tracked`` (); without them batch statistics are used in eval mode too.
    Shapes:
        x: (N, C) or (N, C, L) -> same shape.
    """

    _ranks = (2, 3)
    _shapes = "(N, C) or (N, C, L)"


class BatchNorm2d(_BatchNorm):
    """PyTorch's ``nn.BatchNorm2d``: per-channel normalisation of images with running statistics.

    Args: as ``BatchNorm1d``.
    Shapes:
        x: (N, C, H, W) -> (N, C, H, W); statistics over N, H and W for each channel.
    """

    _ranks = (4,)
    _shapes = "(N, C, H, W)"


@functools.lru_cache(maxsize=64)
def _filled_numpy(n: int, value: float, dtype) -> np.ndarray:
    out = np.full(n, value, dtype=dtype)
    out.flags.writeable = False  # shared between calls
    return out


def _filled(xp, n: int, value: float, dtype):
    """A (n,) vector of ``value``: cached (read-only) on NumPy, where making it costs as much as using it."""
    return _filled_numpy(n, value, np.dtype(dtype)) if xp is np else xp.full(n, value, dtype=dtype)


def layer_norm(x, normalized_shape, weight=None, bias=None, eps: float = 1e-5) -> Tensor:
    """Normalise each sample over its trailing ``normalized_shape`` axes.

    The fused path; ``layer_norm_reference`` computes the same from Tensor ops.

    Args:
        x: (*, *normalized_shape).
        normalized_shape: an int or tuple: the trailing dimensions to normalise over.
        weight: normalized_shape or None (scale 1).
        bias: normalized_shape or None (shift 0).
        eps: added to the variance before the square root.
    Returns:
        same shape as ``x``.
    """
    x = as_tensor(x)
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    k = len(shape)
    if x.ndim < k or x.shape[x.ndim - k:] != shape:
        raise ValueError(f"layer_norm: expected input of shape (*, {', '.join(map(str, shape))}), got {x.shape}")
    if weight is not None and weight.data.shape != shape:
        raise ValueError(f"layer_norm: expected weight of shape {shape}, got {weight.shape}")
    if bias is not None and bias.data.shape != shape:
        raise ValueError(f"layer_norm: expected bias of shape {shape}, got {bias.shape}")
    return _layer_norm(x, shape, weight, bias, eps)


def _layer_norm(x: Tensor, shape: tuple, weight, bias, eps: float) -> Tensor:
    """``layer_norm`` once its arguments are checked; the same shapes.

    With M rows of D = prod(shape) entries, ``xc = x - mean`` (M, D), ``invstd`` (M,) and
    ``scale = invstd * w`` (M, D) are kept for the backward, which then needs three
    elementwise passes over (M, D) arrays of the same shape and only two broadcasts
    against a per-row (M, 1) column (each about twice a same-shape pass on small arrays):

        dx = g * scale - xc * (invstd^3 * mean(g * w * xc)) - invstd * mean(g * w)
        dw = sum over rows of g * xc * invstd,   db = sum over rows of g.
    """
    xp = x.xp
    count = math.prod(shape)  # D: entries per sample
    a = x.data.reshape(-1, count)  # (M, D): one row per sample
    w = None if weight is None else weight.data.reshape(count)  # (D,)
    # Row and column sums are matrix-vector products: one BLAS call each, several times
    # faster than .mean(axis=1) / .sum(axis=0) on (M, D) float32.
    xc = a - (a @ _filled(xp, count, 1.0 / count, a.dtype))[:, None]  # (M, D) centred
    invstd2 = xp.einsum("md,md->m", xc, xc)  # (M,) sum of squares = D * var (biased)
    invstd2 += count * eps
    xp.divide(count, invstd2, out=invstd2)  # (M,) 1 / (var + eps)
    invstd = xp.sqrt(invstd2)  # (M,) 1 / sqrt(var + eps)
    scale = invstd[:, None] * w if w is not None else invstd[:, None]  # (M, D), or (M, 1) without a weight
    out = xc * scale  # (M, D): x_hat * w
    if bias is not None:
        out += bias.data.reshape(count)

    @fresh_gradients
    def backward(g):
        g = g.reshape(-1, count)  # (M, D)
        gx = gw = gb = None
        need_w = weight is not None and weight.requires_grad
        if x.requires_grad or need_w:
            gxc = g * xc  # (M, D): its row sums (weighted by w) and column sums are all that is needed of it
        if need_w:
            gw = (invstd @ gxc).reshape(shape)  # normalized_shape: column sums of g * x_hat
        if bias is not None and bias.requires_grad:
            gb = (_filled(xp, len(g), 1.0, g.dtype) @ g).reshape(shape)  # normalized_shape: column sums
        if x.requires_grad:
            wv = w if w is not None else _filled(xp, count, 1.0, g.dtype)  # (D,)
            per_row = invstd * (1.0 / count)  # (M,) invstd / D
            shift = g @ wv  # (M,) D * mean(g * w)
            shift *= per_row  # invstd * mean(g * w)
            tilt = gxc @ wv  # (M,) D * mean(g * w * xc)
            tilt *= per_row
            tilt *= invstd2  # invstd^3 * mean(g * w * xc)
            gx = g * scale  # (M, D)
            gx -= xp.multiply(xc, tilt[:, None], out=gxc)  # (gxc is not needed any more)
            gx -= shift[:, None]
            gx = gx.reshape(x.shape)
        return (gx, gw, gb) if len(parents) == 3 else tuple(gr for gr, t in zip((gx, gw, gb), (x, weight, bias)) if t is not None)

    parents = (x, weight, bias) if weight is not None and bias is not None else tuple(t for t in (x, weight, bias) if t is not None)
    return Tensor._make(out.reshape(x.shape), parents, backward, "layer_norm")


def layer_norm_reference(x, normalized_shape, weight=None, bias=None, eps: float = 1e-5) -> Tensor:
    """``layer_norm`` from Tensor ops (mean, subtract, divide by sqrt): readable, slower; the same shapes.

    Args and returns as ``layer_norm``: x (*, *normalized_shape) -> the same shape.
    """
    x = as_tensor(x)
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    axes = tuple(range(x.ndim - len(shape), x.ndim))  # the trailing axes
    centred = x - x.mean(axis=axes, keepdims=True)
    var = (centred * centred).mean(axis=axes, keepdims=True)  # biased, as in PyTorch
    out = centred / (var + eps).sqrt()
    if weight is not None:
        out = out * weight
    if bias is not None:
        out = out + bias
    return out


class LayerNorm(Module):
    """PyTorch's ``nn.LayerNorm``: normalise each sample over its trailing dimensions.

    Args:
        normalized_shape: int or tuple, the trailing dimensions, e.g. ``d_model``.
        eps: added to the variance (1e-5).
        elementwise_affine: learn ``weight`` (ones) and, when ``bias``, ``bias`` (zeros), both normalized_shape.
        bias: learn the additive bias (True).
    Shapes:
        x: (*, *normalized_shape) -> same shape; e.g. (N, T, d_model) with normalized_shape=d_model.
    """

    def __init__(self, normalized_shape, eps: float = 1e-5, elementwise_affine: bool = True, bias: bool = True,
                 device=None, dtype=None):
        super().__init__()
        self.normalized_shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
        self.eps = eps
        self.elementwise_affine = elementwise_affine
        xp = xp_for(check_device(device))
        dtype = dtype or DEFAULT_DTYPE
        self.weight = Parameter(xp.ones(self.normalized_shape, dtype=dtype), dtype=dtype) if elementwise_affine else None
        self.bias = Parameter(xp.zeros(self.normalized_shape, dtype=dtype), dtype=dtype) if elementwise_affine and bias else None

    def forward(self, x) -> Tensor:
        x = self._input(x)
        k = len(self.normalized_shape)
        if x.ndim < k or x.shape[x.ndim - k:] != self.normalized_shape:
            raise ValueError(f"{self!r}: expected input of shape (*, {', '.join(map(str, self.normalized_shape))}), got {x.shape}")
        registry = self._parameters  # (self.weight would go through Module.__getattr__: slower)
        weight, bias = registry.get("weight"), registry.get("bias")
        if weight is not None:
            check_same_float_dtype(self, x, weight)
        return layer_norm(x, self.normalized_shape, weight, bias, self.eps)

    def extra_repr(self) -> str:
        return f"{self.normalized_shape}, eps={self.eps}, elementwise_affine={self.elementwise_affine}"
