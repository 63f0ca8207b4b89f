"""Visible checks for week 4 (attention). Each runs in about a second.

Inputs are built deterministically with distinct sizes (batch 2, L=3 queries, S=5 keys,
d_k=4, d_v=6) so a swapped axis fails loudly, and common mistakes are named: a missing
1/sqrt(d_k), softmax over the wrong axis, an ignored or inverted mask.
"""
from __future__ import annotations

import numpy as np

from ..backend import asnumpy
from ..nn.attention import scaled_dot_product_attention as _library_attention
from ..tensor import Tensor
from .result import CheckItem, CheckResult, check_close, check_shape, run_student

TITLE = "scaled_dot_product_attention"


def attention_inputs(batch=2, L=3, S=5, d_k=4, d_v=6, dtype=np.float32):
    """Deterministic ``(Q, K, V)`` Tensors of shapes (batch, L, d_k), (batch, S, d_k), (batch, S, d_v)."""
    def wave(shape, phase):
        n = int(np.prod(shape))
        return Tensor(np.sin(np.arange(n) * 0.7 + phase).reshape(shape) * 1.5, dtype=dtype)

    return wave((batch, L, d_k), 0.0), wave((batch, S, d_k), 1.0), wave((batch, S, d_v), 2.0)


def example_mask(L=3, S=5):
    """(L, S) boolean, True = may attend: query i sees keys 0..i+1 (a causal-like pattern)."""
    return np.arange(S)[None, :] <= np.arange(L)[:, None] + 1


def _unpack(result):
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        return None, None, CheckItem("returns (output, weights)", False,
                                     f"expected a tuple (output, weights), got {type(result).__name__}")
    return asnumpy(result[0]), asnumpy(result[1]), None


def _reference(Q, K, V, mask=None, scale=None):
    out, w = _library_attention(Q, K, V, attn_mask=mask, scale=scale)
    return out.numpy(), w.numpy()


def _diagnose(Q, K, V, mask, out, w) -> str:
    """Name the likely mistake when ``(out, w)`` do not match the reference."""
    d_k = Q.shape[-1]
    hints = []
    if np.allclose(w, _reference(Q, K, V, mask, scale=1.0)[1], atol=1e-4):
        hints.append("the scores were not divided by sqrt(d_k)")
    elif np.allclose(w, _reference(Q, K, V, mask, scale=1.0 / d_k)[1], atol=1e-4):
        hints.append("the scores were divided by d_k instead of sqrt(d_k)")
    if np.allclose(w.sum(axis=-2), 1.0, atol=1e-4) and not np.allclose(w.sum(axis=-1), 1.0, atol=1e-4):
        hints.append("softmax ran over the query axis (-2) instead of the key axis (-1)")
    if mask is not None:
        if np.allclose(w, _reference(Q, K, V, None)[1], atol=1e-4):
            hints.append("the mask was ignored")
        elif np.all(w[..., mask] < 1e-6) and np.any(w[..., ~mask] > 1e-6):
            hints.append("the mask is inverted: in this course True means 'may attend'")
    return "; ".join(hints)


def test_transformer_attention(fn) -> CheckResult:
    """Check ``fn(Q, K, V, mask=None) -> (output, weights)`` against the library version."""
    result = CheckResult(TITLE)
    Q, K, V = attention_inputs()
    mask = example_mask()

    for label, m in (("no mask", None), ("with a mask", mask)):
        raw, error = run_student(f"runs ({label})", fn, Q, K, V, m) if m is not None else run_student(f"runs ({label})", fn, Q, K, V)
        if error:
            result.add(error)
            return result
        out, w, error = _unpack(raw)
        if error:
            result.add(error)
            return result
        shape_items = [check_shape(f"output shape ({label})", out, (2, 3, 6)), check_shape(f"weights shape ({label})", w, (2, 3, 5))]
        for item in shape_items:
            result.add(item)
        if not all(item.passed for item in shape_items):
            return result
        ref_out, ref_w = _reference(Q, K, V, m)
        rows = check_close(f"weight rows sum to 1 ({label})", w.sum(axis=-1), np.ones((2, 3)), rtol=1e-4, atol=1e-4)
        if not rows.passed:
            rows.message = "each query's weights over the keys must sum to 1. " + rows.message
        result.add(rows)
        weights = check_close(f"weights match ({label})", w, ref_w, rtol=1e-4, atol=1e-5)
        output = check_close(f"output matches ({label})", out, ref_out, rtol=1e-4, atol=1e-5)
        hint = _diagnose(Q.numpy(), K.numpy(), V.numpy(), m, out, w) if not weights.passed else ""
        if hint:
            weights.message = f"likely cause: {hint}. " + weights.message
        result.add(weights)
        result.add(output)
        if m is not None:
            leaked = float(np.abs(w[..., ~m]).max())
            result.add(CheckItem("masked keys get zero weight", leaked < 1e-6,
                                 "" if leaked < 1e-6 else f"a key the mask forbids got weight {leaked:.3g}; "
                                 "fill forbidden scores with a large negative number before the softmax"))

    full = np.ones((3, 5), dtype=bool)
    full[1] = False
    raw, error = run_student("fully masked row", fn, Q, K, V, full)
    if error:
        result.add(error)
        return result
    out, w, error = _unpack(raw)
    if error:
        result.add(error)
        return result
    finite = bool(np.isfinite(out).all() and np.isfinite(w).all())
    result.add(CheckItem("a fully masked row gives no NaN", finite, "" if finite else
                         "a query that may attend to nothing produced NaN: -inf everywhere makes softmax divide 0 by 0; "
                         "use a large finite negative number (e.g. -1e9) or zero such rows"))
    return result


__all__ = ["attention_inputs", "example_mask", "test_transformer_attention"]
