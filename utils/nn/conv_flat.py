"""Stride-1 convolution where every kernel tap is one contiguous slice of the flattened image.

Flatten each zero-padded image row after row with a row pitch of ``R = max(Wo, W + pw)``
numbers: ``ph`` rows of zeros, then every image row as ``pw`` zeros, ``W`` pixels and zeros up
to ``R``, then ``ph`` rows of zeros. A row's right padding is the next row's left padding,
so padded column ``t`` of padded row ``r`` sits at ``r*R + t`` (for ``t`` up to ``R + pw``).
Compute the output on a grid ``Ho x R`` instead of ``Ho x Wo``: output ``(i, j)`` at
``i*R + j``. Then the input that kernel entry ``(p, q)`` sees from output ``(i, j)`` is at

    (i + p*dh)*R + (j + q*dw)  =  (i*R + j) + (p*dh*R + q*dw),

a fixed offset for the whole image: tap ``(p, q)`` of every output is the one slice
``flat[off : off + Ho*R]``, ``off = p*dh*R + q*dw``. The im2col copy and the col2im
scatter-add each become ``kh*kw`` moves of long contiguous runs (``Ho*R`` numbers, where
``conv.conv2d_channels_first`` moves runs of ``Wo``). The price is ``R - Wo`` extra output
columns per row (for a 3x3 kernel with padding 1, one): the forward computes them and
drops them; the backward gives them a zero gradient, so they add nothing to any gradient.

The bias rides in the GEMM as one more column of the weight matrix against a row of ones,
so the output is a plain copy out of the GEMM's result, and the bias gradient comes out
of the weight-gradient GEMM. The batch is worked through in chunks whose columns stay
in cache between the im2col copy and the GEMM.

``conv.conv2d`` uses this layout for stride 1 where it measured fastest; tests check it
against a direct loop and gradcheck it.
"""
from __future__ import annotations

from ..backend import get_array_module as get_xp

CHUNK_COLUMNS = 2048  # about this many output positions per GEMM call (at least one image); larger chunks let a 2-thread BLAS split the GEMM


def conv2d_flat_taps(a, w, b, stride, padding, dilation, out_hw):
    """The stride-1 convolution through flat taps (see the module docstring).

    Args:
        a: (N, C, H, W) array; w: (O, C, kh, kw); b: (O,) or None; stride: must be (1, 1);
        padding, dilation: (h, w) pairs; out_hw: (Ho, Wo) = (H + 2*ph - dh*(kh-1), W + 2*pw - dw*(kw-1)).
    Returns:
        out: (N, O, Ho, Wo); grads(g, need_x, need_w, need_b) -> (gx, gw, gb), None where not needed.
    """
    if tuple(stride) != (1, 1):
        raise ValueError(f"conv2d_flat_taps: stride must be (1, 1), got {stride}")
    xp = get_xp(a)
    n, c, h, wd = a.shape
    o, _, kh, kw = w.shape
    ho, wo = out_hw
    (ph, pw), (dh, dw) = padding, dilation
    hp, pitch = h + 2 * ph, max(wo, wd + pw)  # padded rows; numbers per flat row
    size, m, k = hp * pitch, ho * pitch, c * kh * kw  # one flat padded image; its output grid Ho x R; GEMM depth
    offsets = [(p, q, p * dh * pitch + q * dw) for p in range(kh) for q in range(kw)]
    reach = offsets[-1][2]  # how far the last tap's slice starts into an image
    nb = max(1, min(n, CHUNK_COLUMNS // m))  # images per chunk
    chunks = [(start, min(nb, n - start)) for start in range(0, n, nb)]

    def flat_buffer():
        """A zeroed (nb, C, Hp, R) buffer, flattened with ``reach`` spare numbers at the end, and its views."""
        buf = xp.zeros(nb * c * size + reach, dtype=a.dtype)  # (nb*C*Hp*R + reach,)
        inner = buf[:nb * c * size].reshape(nb, c, hp, pitch)[:, :, ph:ph + h, pw:pw + wd]  # (nb, C, H, W) view
        taps = [(p, q, buf[off:off + nb * c * size].reshape(nb, c, size)[:, :, :m]) for p, q, off in offsets]  # (nb, C, M) views
        return buf, inner, taps

    rows = k + (b is not None)  # one more row of ones carries the bias
    cols = xp.empty((rows, n, m), dtype=a.dtype)  # (K[+1], N, M): column (n, i, j) of the GEMM
    cols_by_tap = cols[:k].reshape(c, kh, kw, n, m)  # (C, kh, kw, N, M) view
    cols2 = cols.reshape(rows, n * m)  # (K[+1], N*M)
    w2 = xp.empty((o, rows), dtype=a.dtype)  # (O, K[+1]): the weights, then the bias
    w2[:, :k] = w.reshape(o, k)
    if b is not None:
        cols[k] = 1
        w2[:, k] = b
    out = xp.empty((n, o, ho, wo), dtype=a.dtype)  # (N, O, Ho, Wo)
    buf, inner, taps = flat_buffer()
    for start, count in chunks:
        inner[:count] = a[start:start + count]  # the padding around it stays zero
        for p, q, tap in taps:
            cols_by_tap[:, p, q, start:start + count] = tap[:count].transpose(1, 0, 2)  # (C, count, M)
        prod = w2 @ cols2[:, start * m:(start + count) * m]  # (O, count*M)
        out[start:start + count] = prod.reshape(o, count, ho, pitch)[..., :wo].transpose(1, 0, 2, 3)  # (count, O, Ho, Wo)
    del buf, inner, taps

    def grads(g, need_x, need_w, need_b):
        g2 = xp.zeros((o, n, ho, pitch), dtype=g.dtype)  # (O, N, Ho, R); the extra columns keep a zero gradient
        g2[..., :wo] = g.transpose(1, 0, 2, 3)
        g2 = g2.reshape(o, n * m)  # (O, N*M)
        gx = gw = gb = None
        if need_w or need_b:
            gw2 = (cols2 @ g2.T).T  # (O, K[+1]); OpenBLAS runs this product order faster
            gw = gw2[:, :k].reshape(w.shape) if need_w else None  # (O, C, kh, kw)
            gb = gw2[:, k] if need_b else None  # (O,): the bias row of ones sums the gradient
        if need_x:
            gx = xp.empty(a.shape, dtype=a.dtype)  # (N, C, H, W)
            wt = w2[:, :k].T  # (K, O)
            gbuf, ginner, gtaps = flat_buffer()
            for start, count in chunks:
                gcols = (wt @ g2[:, start * m:(start + count) * m]).reshape(c, kh, kw, count, m)  # (C, kh, kw, count, M)
                gbuf[...] = 0
                for p, q, tap in gtaps:
                    tap[:count] += gcols[:, p, q].transpose(1, 0, 2)  # (count, C, M)
                gx[start:start + count] = ginner[:count]
        return gx, gw, gb

    return out, grads
