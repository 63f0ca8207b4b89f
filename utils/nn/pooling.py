"""Pooling over NCHW images: ``MaxPool2d``, ``AvgPool2d``, ``AdaptiveAvgPool2d``.

Average pooling takes a strided view of the (padded) input's windows, as in ``conv.py``,
and scatters window gradients back with ``col2im``. Max pooling loops over the
``kh*kw`` kernel offsets instead (a running maximum over strided slices, never a copy of
the windows), which is several times faster for small kernels. Output size per spatial axis:

    H_out = floor((H + 2*padding - kernel_size) / stride) + 1

Max pooling sends each window's gradient to ONE input position, the first maximum in
the window in row-major order (as PyTorch does), not split across ties. Its backward is
one pass per kernel offset when windows do not overlap (``max_pool_backward_loop``) and
one scatter-add of flat indices when they do (``max_pool_backward_scatter``); the tests
check each against the other and gradcheck both.
"""
from __future__ import annotations

import functools

import numpy as np

from ..backend import get_array_module as get_xp
from ..tensor import Tensor, as_tensor
from .conv import col2im, output_size, pad2d, pair, windows
from .module import Module


def _pool_geometry(x: Tensor, kernel_size, stride, padding, layer: str):
    """Validate a pooling call; return (kernel, stride, padding, Ho, Wo)."""
    kernel = pair(kernel_size, "kernel_size", layer)
    stride = kernel if stride is None else pair(stride, "stride", layer)
    padding = pair(padding, "padding", layer)
    if x.ndim != 4:
        raise ValueError(f"{layer}: expected input of shape (N, C, H, W), got {x.shape}")
    if x.dtype.kind != "f":
        raise TypeError(f"{layer}: expected a floating input, got dtype {x.dtype}")
    if any(2 * p > k for p, k in zip(padding, kernel)):
        raise ValueError(f"{layer}: padding {padding} must be at most half the kernel size {kernel}")
    ho = output_size(x.shape[2], kernel[0], stride[0], padding[0])
    wo = output_size(x.shape[3], kernel[1], stride[1], padding[1])
    if ho <= 0 or wo <= 0:
        raise ValueError(f"{layer}: input {x.shape} padded by {padding} is smaller than the kernel {kernel}")
    return kernel, stride, padding, ho, wo


def _window_offsets(kernel: tuple, stride: tuple, out_hw: tuple) -> list:
    """For each kernel offset (p, q) in row-major order, the (rows, cols) slices of the
    padded input that hold entry (p, q) of every window."""
    (kh, kw), (sh, sw), (ho, wo) = kernel, stride, out_hw
    return [(slice(p, p + sh * (ho - 1) + 1, sh), slice(q, q + sw * (wo - 1) + 1, sw))
            for p in range(kh) for q in range(kw)]


def max_pool_backward_loop(g, first_max, padded_shape: tuple, kernel: tuple, stride: tuple):
    """Route each window's gradient to its (first) maximum: one pass per kernel offset.

    Args:
        g: (N, C, Ho, Wo) gradient of the pooled output.
        first_max: (N, C, Ho, Wo) integers, the row-major index in its window of each maximum.
        padded_shape: (N, C, Hp, Wp).
    Returns:
        (N, C, Hp, Wp): the gradient of the padded input.
    """
    xp = get_xp(g)
    ho, wo = g.shape[2:]
    disjoint = stride[0] >= kernel[0] and stride[1] >= kernel[1]  # every pixel hears from one window at most
    gpad = xp.zeros(padded_shape, dtype=g.dtype)  # (N, C, Hp, Wp)
    for k, rows_cols in enumerate(_window_offsets(kernel, stride, (ho, wo))):
        target = gpad[(slice(None), slice(None)) + rows_cols]  # (N, C, Ho, Wo) view
        if disjoint:
            xp.multiply(g, first_max == k, out=target)
        else:  # overlapping windows may both send to one pixel: add
            target += g * (first_max == k)
    return gpad


def max_pool_backward_scatter(g, first_max, padded_shape: tuple, kernel: tuple, stride: tuple):
    """The same as ``max_pool_backward_loop`` by one scatter-add of flat indices.

    The flat index of window ``(n, c, i, j)``'s maximum in the padded input is its plane's
    start, plus its top-left pixel ``(i*sh, j*sw)`` (both depend on the shapes only, so they
    are computed once per shape: ``_window_corners``), plus the maximum's offset in the
    window. Several times faster for overlapping windows (3x3 stride 2), where the loop
    makes ``kh*kw`` read-modify-write passes. NumPy adds with ``np.add.at`` in the gradient's
    dtype (``scatter_add_at``); other backends through ``bincount`` (``scatter_add_bincount``).
    """
    xp = get_xp(g)
    n, c, ho, wo = g.shape
    hp, wp = padded_shape[2:]
    kh, kw = kernel
    in_window = xp.asarray((np.arange(kh)[:, None] * wp + np.arange(kw)).reshape(-1))  # (kh*kw,) row-major
    flat = (_window_corners(xp, n, c, ho, wo, hp, wp, tuple(stride)) + in_window[first_max]).reshape(-1)  # (N*C*Ho*Wo,)
    add = scatter_add_at if xp is np else scatter_add_bincount
    return add(flat, g.reshape(-1), n * c * hp * wp).reshape(padded_shape)  # (N, C, Hp, Wp)


def scatter_add_at(index, values, size: int):
    """``out[index[i]] += values[i]`` into zeros of ``size``, in ``values``' dtype (NumPy's ``add.at``).

    Args:
        index: (M,) integers in [0, size); values: (M,). Returns: (size,).
    """
    out = np.zeros(size, dtype=values.dtype)  # (size,)
    np.add.at(out, index, values)
    return out


def scatter_add_bincount(index, values, size: int):
    """The same as ``scatter_add_at`` through ``bincount`` (float64 sums, cast back): any backend."""
    xp = get_xp(values)
    return xp.bincount(index, weights=values, minlength=size).astype(values.dtype)  # (size,)


@functools.lru_cache(maxsize=16)
def _window_corners(xp, n: int, c: int, ho: int, wo: int, hp: int, wp: int, stride: tuple):
    """Flat index of every window's top-left pixel in a padded (N, C, Hp, Wp) batch: (N, C, Ho, Wo), read-only."""
    plane = (xp.arange(n * c) * (hp * wp)).reshape(n, c, 1, 1)  # (N, C, 1, 1)
    corner = (xp.arange(ho) * (stride[0] * wp))[:, None] + xp.arange(wo) * stride[1]  # (Ho, Wo)
    corners = plane + corner  # (N, C, Ho, Wo)
    if xp is np:
        corners.flags.writeable = False  # shared by every call with these shapes
    return corners


def max_pool2d(x, kernel_size, stride=None, padding=0) -> Tensor:
    """Maximum over each ``kh x kw`` window (padding counts as -inf).

    Args:
        x: (N, C, H, W).
        kernel_size: int or (kh, kw).
        stride: int or pair; defaults to ``kernel_size``.
        padding: int or pair, at most half the kernel.
    Returns:
        (N, C, Ho, Wo), ``Ho = floor((H + 2*ph - kh) / sh) + 1``.
    """
    x = as_tensor(x)
    (kh, kw), stride, padding, ho, wo = _pool_geometry(x, kernel_size, stride, padding, "max_pool2d")
    xp = x.xp
    n, c, h, w = x.shape
    padded = pad2d(x.data, padding, value=-xp.inf)  # (N, C, Hp, Wp)
    offsets = _window_offsets((kh, kw), stride, (ho, wo))
    # One pass per kernel offset over a strided slice (kh*kw passes, no window copy).
    # A strictly larger value (or a NaN) replaces the running max, so ties keep the FIRST maximum.
    out = padded[(slice(None), slice(None)) + offsets[0]].copy()  # (N, C, Ho, Wo)
    first_max = xp.zeros(out.shape, dtype=xp.min_scalar_type(kh * kw - 1))  # (N, C, Ho, Wo) index into the window
    better = xp.empty(out.shape, dtype=bool)  # (N, C, Ho, Wo)
    index = xp.empty_like(first_max)  # (N, C, Ho, Wo)
    # With a column stride, each slice skips numbers: one copy into a contiguous scratch array, then two
    # contiguous comparisons, is several times faster than comparing the strided slice twice.
    scratch = xp.empty_like(out) if stride[1] > 1 else None  # (N, C, Ho, Wo)
    for k in range(1, kh * kw):
        s = padded[(slice(None), slice(None)) + offsets[k]]  # (N, C, Ho, Wo) view
        if scratch is not None:
            scratch[...] = s
            s = scratch
        xp.greater(s, out, out=better)  # strictly larger: a tie keeps the first maximum
        xp.maximum(out, s, out=out)  # NaN propagates, as in PyTorch
        xp.multiply(better, index.dtype.type(k), out=index)
        xp.maximum(first_max, index, out=first_max)  # k where better (k only grows)
    if xp.isnan(out).any():  # rare: a NaN wins its window, and the gradient goes to the window's last NaN
        for k in range(1, kh * kw):
            s = padded[(slice(None), slice(None)) + offsets[k]]
            xp.multiply(s != s, index.dtype.type(k), out=index)
            xp.maximum(first_max, index, out=first_max)
    overlapping = stride[0] < kh or stride[1] < kw

    def backward(g):
        route = max_pool_backward_scatter if overlapping else max_pool_backward_loop
        gpad = route(g, first_max, padded.shape, (kh, kw), stride)  # (N, C, Hp, Wp)
        return (gpad[:, :, padding[0]:padding[0] + h, padding[1]:padding[1] + w],)  # (N, C, H, W)

    return Tensor._make(out, (x,), backward, "max_pool2d")


def avg_pool2d(x, kernel_size, stride=None, padding=0) -> Tensor:
    """Mean over each ``kh x kw`` window; zero padding counts in the mean (PyTorch's default).

    Args:
        x: (N, C, H, W).
        kernel_size: int or (kh, kw).
        stride: int or pair; defaults to ``kernel_size``.
        padding: int or pair, at most half the kernel.
    Returns:
        (N, C, Ho, Wo), ``Ho = floor((H + 2*ph - kh) / sh) + 1``.
    """
    x = as_tensor(x)
    (kh, kw), stride, padding, ho, wo = _pool_geometry(x, kernel_size, stride, padding, "avg_pool2d")
    xp = x.xp
    n, c, h, w = x.shape
    padded = pad2d(x.data, padding)  # (N, C, Hp, Wp)
    scale = 1.0 / (kh * kw)
    out = (windows(padded, (kh, kw), stride).sum(axis=(-2, -1)) * scale).astype(x.dtype, copy=False)  # (N, C, Ho, Wo)

    def backward(g):
        share = (g * scale).astype(x.dtype, copy=False)  # (N, C, Ho, Wo)
        cols = xp.broadcast_to(share[:, :, None, None], (n, c, kh, kw, ho, wo))  # (N, C, kh, kw, Ho, Wo) view
        gpad = col2im(cols, padded.shape, stride)  # (N, C, Hp, Wp)
        return (gpad[:, :, padding[0]:padding[0] + h, padding[1]:padding[1] + w],)  # (N, C, H, W)

    return Tensor._make(out, (x,), backward, "avg_pool2d")


def adaptive_avg_pool2d(x, output_size) -> Tensor:
    """Average-pool to a fixed ``(Ho, Wo)`` whatever the input size.

    Supported when ``Ho`` divides ``H`` and ``Wo`` divides ``W`` (so every output is the mean
    of an equal ``H/Ho x W/Wo`` block), which includes global pooling ``output_size=1``.

    Args:
        x: (N, C, H, W).
        output_size: int or (Ho, Wo).
    Returns:
        (N, C, Ho, Wo).
    """
    x = as_tensor(x)
    ho, wo = pair(output_size, "output_size", "adaptive_avg_pool2d")
    if x.ndim != 4:
        raise ValueError(f"adaptive_avg_pool2d: expected input of shape (N, C, H, W), got {x.shape}")
    h, w = x.shape[2:]
    if ho <= 0 or wo <= 0 or h % ho or w % wo:
        raise ValueError(f"adaptive_avg_pool2d: output size {(ho, wo)} must divide the input's spatial size {(h, w)} "
                         f"(input {x.shape}); uneven bins are not supported")
    return avg_pool2d(x, (h // ho, w // wo))


class _Pool2d(Module):
    """Holds kernel_size, stride (defaults to kernel_size) and padding for the pooling modules."""

    def __init__(self, kernel_size, stride=None, padding=0):
        super().__init__()
        self.kernel_size = kernel_size
        self.stride = kernel_size if stride is None else stride
        self.padding = padding

    def extra_repr(self) -> str:
        return f"kernel_size={self.kernel_size}, stride={self.stride}, padding={self.padding}"


class MaxPool2d(_Pool2d):
    """PyTorch's ``nn.MaxPool2d``: (N, C, H, W) -> (N, C, Ho, Wo), ``Ho = floor((H + 2p - k) / s) + 1``.

    Args:
        kernel_size: int or pair; stride: defaults to kernel_size; padding: int or pair (0).
    """

    def forward(self, x) -> Tensor:
        return max_pool2d(self._input(x), self.kernel_size, self.stride, self.padding)


class AvgPool2d(_Pool2d):
    """PyTorch's ``nn.AvgPool2d`` (zero padding counted in the mean):
    (N, C, H, W) -> (N, C, Ho, Wo), ``Ho = floor((H + 2p - k) / s) + 1``.

    Args:
        kernel_size: int or pair; stride: defaults to kernel_size; padding: int or pair (0).
    """

    def forward(self, x) -> Tensor:
        return avg_pool2d(self._input(x), self.kernel_size, self.stride, self.padding)


class AdaptiveAvgPool2d(Module):
    """PyTorch's ``nn.AdaptiveAvgPool2d`` for sizes that divide the input: (N, C, H, W) -> (N, C, Ho, Wo).

    Args:
        output_size: int or (Ho, Wo); ``1`` is global average pooling.
    """

    def __init__(self, output_size):
        super().__init__()
        self.output_size = output_size

    def forward(self, x) -> Tensor:
        return adaptive_avg_pool2d(self._input(x), self.output_size)

    def extra_repr(self) -> str:
        return f"output_size={self.output_size}"
