"""References for week 0's hidden checks (instructor side, never shipped): the library's own
autograd (``utils.Tensor``, float64) runs the same ops and graphs the student's engine ran.

The visible checks in ``utils/checks/week0_autograd.py`` compare with goldens instead.
"""
from __future__ import annotations

import numpy as np

from utils.backend import asnumpy
from utils.checks.week0_autograd import GRAPHS, MLP_NAMES, OPS
from utils.losses import cross_entropy
from utils.tensor import Tensor


def _leaf(array) -> Tensor:
    return Tensor(np.array(array, dtype=np.float64), requires_grad=True, dtype=np.float64)


def op(name: str, arrays, upstream, prior=None, same: bool = False, kwargs=None):
    """``(output, [gradient of each distinct operand])`` of one op; ``prior`` is added to the gradients."""
    leaves = [_leaf(a) for a in arrays]
    operands = [leaves[0], leaves[0]] if same else leaves
    leaves = leaves[:1] if same else leaves
    out = OPS[name](*operands, **dict(kwargs or {}))
    out.backward(np.array(upstream, dtype=np.float64).reshape(out.shape))
    grads = [asnumpy(leaf.grad) for leaf in leaves]
    if prior is not None:
        grads = [g + np.asarray(p) for g, p in zip(grads, prior)]
    return asnumpy(out.data), grads


def graph(name: str, arrays, upstream=None):
    """``(output, [gradient of each input])`` of ``GRAPHS[name]`` (``upstream`` None: a scalar output, seeded with 1)."""
    leaves = [_leaf(a) for a in arrays]
    out = GRAPHS[name](*leaves)
    out.backward(None if upstream is None else np.array(upstream, dtype=np.float64))
    return asnumpy(out.data), [asnumpy(leaf.grad) for leaf in leaves]


def mlp(params: dict, X, y):
    """``(logits, loss, {name: gradient})`` of relu(X @ W1 + b1) @ W2 + b2 under the mean cross-entropy."""
    p = {name: _leaf(params[name]) for name in MLP_NAMES}
    logits = (Tensor(np.asarray(X, dtype=np.float64), dtype=np.float64) @ p["W1"] + p["b1"]).relu() @ p["W2"] + p["b2"]
    loss = cross_entropy(logits, np.asarray(y, dtype=np.int64))
    loss.backward()
    return asnumpy(logits.data), asnumpy(loss.data), {name: asnumpy(p[name].grad) for name in MLP_NAMES}
