"""Finite-difference gradient checks (float64, central differences)."""
from __future__ import annotations

import numpy as np

from .backend import asnumpy
from .tensor import Tensor


def numerical_grad(fn, inputs, index: int, eps: float = 1e-6):
    """d(sum(fn(*inputs) * probe)) / d(inputs[index]) by central differences.

    ``fn`` maps Tensors to one Tensor. The probe is a fixed random array so every
    output element matters, not only their sum.
    """
    x = inputs[index]
    base = fn(*inputs)
    probe = np.random.default_rng(0).standard_normal(base.shape)
    grad = np.zeros(x.shape, dtype=np.float64)
    flat = x.data.reshape(-1)  # a view: edits below change x in place
    for i in range(flat.size):
        old = float(flat[i])
        flat[i] = old + eps
        plus = float((asnumpy(fn(*inputs).data) * probe).sum())
        flat[i] = old - eps
        minus = float((asnumpy(fn(*inputs).data) * probe).sum())
        flat[i] = old
        grad.reshape(-1)[i] = (plus - minus) / (2 * eps)
    return grad, probe


def gradcheck(fn, *inputs, eps: float = 1e-6, rtol: float = 1e-6, atol: float = 1e-8, raise_exception: bool = True):
    """Compare autograd gradients of ``fn`` with central differences, for every input.

    Args:
        fn: callable taking the Tensors in ``inputs`` and returning one Tensor.
        inputs: float64 Tensors; those with ``requires_grad=True`` are checked
            (parameters of a module used inside ``fn`` can be passed too).
    Returns:
        The largest relative error ``|analytic - numeric| / max(1, |numeric|)`` over all inputs.
    Raises:
        AssertionError naming the input index, position and both values when a
        gradient is off (unless ``raise_exception=False``).
    """
    for i, t in enumerate(inputs):
        if not isinstance(t, Tensor):
            raise TypeError(f"gradcheck: input {i} is a {type(t).__name__}, not a Tensor")
        if t.requires_grad and t.dtype != np.float64:
            raise TypeError(f"gradcheck: input {i} is {t.dtype}; check gradients in float64 (float32 gives errors near 1e-2)")
    worst = 0.0
    for i, t in enumerate(inputs):
        if not t.requires_grad:
            continue
        numeric, probe = numerical_grad(fn, inputs, i, eps)
        for other in inputs:
            other.grad = None
        out = fn(*inputs)
        out.backward(probe.astype(out.dtype))
        analytic = np.zeros(t.shape) if t.grad is None else asnumpy(t.grad).astype(np.float64)
        err = np.abs(analytic - numeric) / np.maximum(1.0, np.abs(numeric))
        worst = max(worst, float(err.max(initial=0.0)))
        if raise_exception and not np.allclose(analytic, numeric, rtol=rtol, atol=atol + rtol):
            pos = np.unravel_index(int(err.argmax()), err.shape)
            raise AssertionError(
                f"gradcheck: input {i} (shape {t.shape}) gradient differs at {tuple(int(p) for p in pos)}: "
                f"autograd {analytic[pos]:.8g}, finite differences {numeric[pos]:.8g} (max relative error {err.max():.2e})"
            )
    return worst
