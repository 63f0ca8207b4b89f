"""2-D convolution (``Conv2d``, NCHW) through im2col: GEMMs over whole images and kernels, no loop over pixels.

Forward: pad once, take a strided *view* of every ``kh x kw`` window (no copy), lay the
windows out as columns ``(N, C*kh*kw, Ho*Wo)`` (the one im2col copy), and multiply by the
weight matrix ``(O, C*kh*kw)``, one GEMM per image. Backward: the weight gradient is one
more GEMM per image against the same columns, summed; the input gradient is a GEMM back to
columns followed by col2im, a scatter-add of ``kh*kw`` strided slices (a loop over kernel
offsets, never over pixels).
Small maps with many channels use the same three GEMMs with channels innermost
(``conv2d_channels_last``), so that copies move runs of C numbers instead of runs of Wo;
other stride-1 convolutions flatten each padded image so that every kernel tap is one
long contiguous slice (``conv_flat.conv2d_flat_taps``). ``choose_layout`` picks one;
tests check all three layouts against a direct loop and gradcheck each.

Output size, per spatial axis (PyTorch's formula):

    H_out = floor((H + 2*padding - dilation*(kernel_size - 1) - 1) / stride) + 1
"""
from __future__ import annotations

from ..backend import get_array_module as get_xp
from ..tensor import Tensor, as_tensor
from .conv_flat import conv2d_flat_taps
from .init import uniform_fan_in
from .linear import check_same_float_dtype
from .module import Module, Parameter


def pair(value, name: str, layer: str) -> tuple:
    """``(v, v)`` for an int, the tuple itself for a 2-tuple; ``ValueError`` otherwise."""
    if isinstance(value, int):
        value = (value, value)
    value = tuple(int(v) for v in value)
    if len(value) != 2:
        raise ValueError(f"{layer}: {name} must be an int or a pair of ints, got {value}")
    return value


def output_size(size: int, kernel: int, stride: int, padding: int, dilation: int = 1) -> int:
    """``floor((size + 2*padding - dilation*(kernel - 1) - 1) / stride) + 1``."""
    return (size + 2 * padding - dilation * (kernel - 1) - 1) // stride + 1


def pad2d(a, padding: tuple, value: float = 0.0):
    """``a`` (N, C, H, W) padded with ``value``: (N, C, H + 2*ph, W + 2*pw); ``a`` itself when no padding."""
    ph, pw = padding
    if ph == 0 and pw == 0:
        return a
    n, c, h, w = a.shape
    out = get_xp(a).full((n, c, h + 2 * ph, w + 2 * pw), value, dtype=a.dtype)  # (N, C, Hp, Wp)
    out[:, :, ph:ph + h, pw:pw + w] = a
    return out


def windows(a, kernel: tuple, stride: tuple, dilation: tuple = (1, 1)):
    """A strided view of every window of ``a``: no data is copied (never write through it).

    Args:
        a: (N, C, Hp, Wp), already padded.
    Returns:
        (N, C, Ho, Wo, kh, kw) where ``[n, c, i, j]`` is the window whose top-left pixel is
        ``(i*stride_h, j*stride_w)``.
    """
    xp = get_xp(a)
    n, c, hp, wp = a.shape
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    ho, wo = output_size(hp, kh, sh, 0, dh), output_size(wp, kw, sw, 0, dw)
    s_n, s_c, s_h, s_w = a.strides
    return xp.lib.stride_tricks.as_strided(
        a, shape=(n, c, ho, wo, kh, kw), strides=(s_n, s_c, s_h * sh, s_w * sw, s_h * dh, s_w * dw)
    )  # (N, C, Ho, Wo, kh, kw)


def col2im(cols, padded_shape: tuple, stride: tuple, dilation: tuple = (1, 1)):
    """Scatter-add window entries back onto the padded image (the adjoint of ``windows``).

    Args:
        cols: (N, C, kh, kw, Ho, Wo) - one value per window entry.
        padded_shape: (N, C, Hp, Wp).
    Returns:
        (N, C, Hp, Wp) where each pixel holds the sum over the windows that cover it.
    """
    xp = get_xp(cols)
    _, _, kh, kw, ho, wo = cols.shape
    (sh, sw), (dh, dw) = stride, dilation
    out = xp.zeros(padded_shape, dtype=cols.dtype)  # (N, C, Hp, Wp)
    for p in range(kh):
        for q in range(kw):
            top, left = p * dh, q * dw
            out[:, :, top:top + sh * (ho - 1) + 1:sh, left:left + sw * (wo - 1) + 1:sw] += cols[:, :, p, q]
    return out


def conv2d(x, weight: Tensor, bias: Tensor = None, stride=1, padding=0, dilation=1) -> Tensor:
    """Cross-correlate a batch of images with a bank of filters (what deep learning calls convolution).

    Args:
        x: (N, C, H, W).
        weight: (O, C, kh, kw).
        bias: (O,) or None.
        stride, padding, dilation: int or (h, w) pairs; padding is with zeros.
    Returns:
        (N, O, Ho, Wo) with ``Ho = floor((H + 2*ph - dh*(kh - 1) - 1) / sh) + 1`` (same for W).
    """
    x = as_tensor(x)
    stride, padding, dilation = pair(stride, "stride", "conv2d"), pair(padding, "padding", "conv2d"), pair(dilation, "dilation", "conv2d")
    if x.ndim != 4 or weight.ndim != 4 or x.shape[1] != weight.shape[1]:
        raise ValueError(f"conv2d: expected input (N, {weight.shape[1] if weight.ndim == 4 else 'C'}, H, W) for weight (O, C, kh, kw) = {weight.shape}, got input {x.shape}")
    check_same_float_dtype("conv2d", x, weight)
    n, c, h, w = x.shape
    o, _, kh, kw = weight.shape
    ho, wo = output_size(h, kh, stride[0], padding[0], dilation[0]), output_size(w, kw, stride[1], padding[1], dilation[1])
    if ho <= 0 or wo <= 0:
        raise ValueError(f"conv2d: input {x.shape} padded by {padding} is smaller than the (dilated) kernel {(kh, kw)}")
    layout = choose_layout(c, stride, ho, wo)
    out, grads = layout(x.data, weight.data, None if bias is None else bias.data, stride, padding, dilation, (ho, wo))

    def backward(g):
        gx, gw, gb = grads(g, x.requires_grad, weight.requires_grad, bias is not None and bias.requires_grad)
        return (gx, gw) if bias is None else (gx, gw, gb)

    parents = (x, weight) if bias is None else (x, weight, bias)
    return Tensor._make(out, parents, backward, "conv2d")  # (N, O, Ho, Wo)


def use_channels_last(channels: int, ho: int, wo: int) -> bool:
    """Small feature maps with many channels (ResNet's later stages) run faster channels-last."""
    return channels >= 32 and ho * wo <= 64


def use_flat_taps(channels: int, stride: tuple) -> bool:
    """Stride 1 with more than one input channel runs faster through flat taps (``conv_flat``)."""
    return tuple(stride) == (1, 1) and channels > 1


def choose_layout(channels: int, stride: tuple, ho: int, wo: int):
    """The fastest of the three layouts measured for this shape (all three give the same numbers)."""
    if use_channels_last(channels, ho, wo):
        return conv2d_channels_last
    if use_flat_taps(channels, stride):
        return conv2d_flat_taps
    return conv2d_channels_first


def conv2d_channels_first(a, w, b, stride, padding, dilation, out_hw):
    """The convolution as one GEMM per image against im2col columns laid out (N, C*kh*kw, Ho*Wo).

    ``matmul`` of the (O, C*kh*kw) weights with the stacked columns gives (N, O, Ho*Wo), which
    is already the NCHW output: no transpose pass after the product (one GEMM over the whole
    batch, (C*kh*kw, N*Ho*Wo), needed one, and ran slower for few input channels).

    Args:
        a: (N, C, H, W) array; w: (O, C, kh, kw); b: (O,) or None; out_hw: (Ho, Wo).
    Returns:
        out: (N, O, Ho, Wo); grads(g, need_x, need_w, need_b) -> (gx, gw, gb), None where not needed.
    """
    xp = get_xp(a)
    n, c, h, wd = a.shape
    o, _, kh, kw = w.shape
    ho, wo = out_hw
    k, L = c * kh * kw, ho * wo
    padded = pad2d(a, padding)  # (N, C, Hp, Wp)
    cols = windows(padded, (kh, kw), stride, dilation).transpose(0, 1, 4, 5, 2, 3).reshape(n, k, L)  # (N, C*kh*kw, L)
    w2 = w.reshape(o, k)  # (O, C*kh*kw)
    out = xp.matmul(w2, cols).reshape(n, o, ho, wo)  # (N, O, Ho, Wo)
    if b is not None:
        out += b[:, None, None]

    def grads(g, need_x, need_w, need_b):
        g3 = g.reshape(n, o, L)  # (N, O, L)
        gx = gw = gb = None
        if need_x:
            gcols = xp.matmul(w2.T, g3).reshape(n, c, kh, kw, ho, wo)  # (N, C, kh, kw, Ho, Wo)
            gpad = col2im(gcols, padded.shape, stride, dilation)  # (N, C, Hp, Wp)
            gx = gpad[:, :, padding[0]:padding[0] + h, padding[1]:padding[1] + wd]  # (N, C, H, W)
        if need_w:
            gw = xp.matmul(g3, cols.transpose(0, 2, 1)).sum(axis=0).reshape(w.shape)  # (N, O, K) summed -> (O, C, kh, kw)
        if need_b:
            gb = g3.sum(axis=(0, 2))  # (O,)
        return gx, gw, gb

    return out, grads


LARGE_WEIGHT = 128 * 256  # C*O from which channels-last computes its weight gradient as (O, kh*kw*C)


def conv2d_channels_last(a, w, b, stride, padding, dilation, out_hw):
    """The same convolution with pixels outermost and channels innermost ("HWNC").

    The image is copied once to (Hp, Wp, N, C); the GEMM's left matrix has one row per
    output pixel and image (Ho*Wo*N rows) and one column per kernel entry and channel
    (kh*kw*C). Every copy and scatter-add then moves runs of C contiguous numbers, where
    the channels-first layout moves runs of Wo: on a 2x2 or 4x4 feature map with 64-256
    channels that is 30-45 % faster. Arguments and returns as ``conv2d_channels_first``.
    """
    xp = get_xp(a)
    n, c, h, wd = a.shape
    o, _, kh, kw = w.shape
    ho, wo = out_hw
    (sh, sw), (ph, pw), (dh, dw) = stride, padding, dilation
    xt = xp.zeros((h + 2 * ph, wd + 2 * pw, n, c), dtype=a.dtype)  # (Hp, Wp, N, C)
    xt[ph:ph + h, pw:pw + wd] = a.transpose(2, 3, 0, 1)
    taps = [(p, q, slice(p * dh, p * dh + sh * (ho - 1) + 1, sh), slice(q * dw, q * dw + sw * (wo - 1) + 1, sw))
            for p in range(kh) for q in range(kw)]  # each kernel entry's (rows, cols) of xt
    rows = xp.empty((ho, wo, n, kh, kw, c), dtype=a.dtype)  # row (i, j, n), column (p, q, c)
    for p, q, r, s in taps:
        rows[:, :, :, p, q, :] = xt[r, s]  # (Ho, Wo, N, C)
    rows = rows.reshape(ho * wo * n, kh * kw * c)  # (L*N, kh*kw*C)
    wr = w.transpose(2, 3, 1, 0).reshape(kh * kw * c, o)  # (kh*kw*C, O)
    prod = (rows @ wr).reshape(ho, wo, n, o).transpose(2, 3, 0, 1)  # (N, O, Ho, Wo) view
    out = xp.empty(prod.shape, dtype=prod.dtype)  # (N, O, Ho, Wo), C-contiguous
    if b is None:
        out[...] = prod
    else:
        xp.add(prod, b[:, None, None], out=out)

    def grads(g, need_x, need_w, need_b):
        gr = g.transpose(2, 3, 0, 1).reshape(ho * wo * n, o)  # (L*N, O)
        gx = gw = gb = None
        if need_x:
            grows = (gr @ wr.T).reshape(ho, wo, n, kh, kw, c)  # (Ho, Wo, N, kh, kw, C)
            gxt = xp.zeros(xt.shape, dtype=a.dtype)  # (Hp, Wp, N, C)
            for p, q, r, s in taps:
                gxt[r, s] += grows[:, :, :, p, q, :]
            gx = gxt[ph:ph + h, pw:pw + wd].transpose(2, 3, 0, 1)  # (N, C, H, W)
        if need_w:  # (O, C, kh, kw), a view that the leaf copies into order
            if c * o >= LARGE_WEIGHT:  # copying (O, kh, kw, C) runs of C beats gathering across a (kh, kw, C, O) matrix
                gw = (gr.T @ rows).reshape(o, kh, kw, c).transpose(0, 3, 1, 2)
            else:
                gw = (rows.T @ gr).reshape(kh, kw, c, o).transpose(3, 2, 0, 1)
        if need_b:
            gb = gr.sum(axis=0)  # (O,)
        return gx, gw, gb

    return out, grads


class Conv2d(Module):
    """PyTorch's ``nn.Conv2d`` on NCHW images (zero padding, one group).

    Args:
        in_channels: C.
        out_channels: O.
        kernel_size: int or (kh, kw).
        stride, padding, dilation: int or (h, w) pairs (defaults 1, 0, 1).
        bias: learn a per-output-channel bias (default True).
        device, dtype: where and in which float type the parameters live.
    Parameters:
        weight: (O, C, kh, kw) and bias: (O,), both ``U(-1/sqrt(C*kh*kw), 1/sqrt(C*kh*kw))``.
    Shapes:
        x: (N, C, H, W) -> (N, O, Ho, Wo), ``Ho = floor((H + 2*ph - dh*(kh - 1) - 1) / sh) + 1``.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, dilation=1,
                 *, bias: bool = True, device=None, dtype=None):
        super().__init__()
        name = f"Conv2d({in_channels}, {out_channels})"
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = pair(kernel_size, "kernel_size", name)
        self.stride = pair(stride, "stride", name)
        self.padding = pair(padding, "padding", name)
        self.dilation = pair(dilation, "dilation", name)
        fan_in = in_channels * self.kernel_size[0] * self.kernel_size[1]
        self.weight = Parameter(uniform_fan_in((out_channels, in_channels) + self.kernel_size, fan_in, dtype=dtype, device=device))
        self.bias = Parameter(uniform_fan_in((out_channels,), fan_in, dtype=dtype, device=device)) if bias else None

    def forward(self, x) -> Tensor:
        x = self._input(x)
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f"{self!r}: expected input of shape (N, {self.in_channels}, H, W), got {x.shape}")
        check_same_float_dtype(self, x, self.weight)
        return conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation)

    def extra_repr(self) -> str:
        text = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding != (0, 0):
            text += f", padding={self.padding}"
        if self.dilation != (1, 1):
            text += f", dilation={self.dilation}"
        return text + ("" if self.bias is not None else ", bias=False")
