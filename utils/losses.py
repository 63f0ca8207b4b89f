"""Loss functions with PyTorch's names, arguments and defaults.

Each loss exists as a function (``cross_entropy``, ``mse_loss``, ``binary_cross_entropy``,
``binary_cross_entropy_with_logits``) and as a Module (``CrossEntropyLoss``, ``MSELoss``,
``BCELoss``, ``BCEWithLogitsLoss``). ``reduction`` is ``"mean"`` (the default), ``"sum"``
or ``"none"`` (one loss per element / sample).

The numerically delicate ones (cross-entropy from logits, BCE from logits) are fused
ops: the forward works in raw arrays with a stable log-softmax / softplus and the
backward is written out, so large logits never overflow.
"""
from __future__ import annotations

import numpy as np

from .nn.module import Module
from .tensor import Tensor, as_tensor, fresh_gradients, stable_sigmoid

REDUCTIONS = ("mean", "sum", "none")


def _check_reduction(reduction: str, where: str) -> str:
    if reduction not in REDUCTIONS:
        raise ValueError(f"{where}: reduction must be one of {REDUCTIONS}, got {reduction!r}")
    return reduction


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    """Apply ``reduction`` to an elementwise loss tensor."""
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _float_input(x, where: str) -> Tensor:
    x = as_tensor(x)
    if x.dtype.kind != "f":
        raise TypeError(f"{where}: expected a floating input, got dtype {x.dtype}")
    return x


def _target_like(target, ref: Tensor, where: str) -> Tensor:
    """A target of the same shape as ``ref`` and, when it is a plain array, the same dtype."""
    if not isinstance(target, Tensor):
        target = Tensor(ref.xp.asarray(target), dtype=ref.dtype)
    if target.shape != ref.shape:
        raise ValueError(f"{where}: target shape {target.shape} does not match input shape {ref.shape}")
    return target


# ---------------------------------------------------------------------- cross-entropy
def cross_entropy(input, target, *, reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """Cross-entropy between logits and class targets: ``-sum_c q_c * log_softmax(input)_c``.

    Args:
        input: logits (N, C) or (N, C, d1, ..., dk); class scores along axis 1.
            A single sample (C,) is accepted too.
        target: either integer class indices (N,) or (N, d1, ..., dk) with values in
            [0, C); or class probabilities (e.g. one-hot), the same shape as ``input``.
        reduction: "mean" (average over N * d1 * ... * dk), "sum" or "none"
            (returns (N,) or (N, d1, ..., dk)).
        label_smoothing: epsilon in [0, 1]; the target distribution becomes
            ``(1 - epsilon) * q + epsilon / C``.
    Returns:
        A scalar Tensor, or per-sample losses when ``reduction="none"``.

    The backward is fused: ``d loss / d input = softmax(input) * sum_c q_c - q``.
    """
    reduction = _check_reduction(reduction, "cross_entropy")
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"cross_entropy: label_smoothing must be in [0, 1], got {label_smoothing}")
    x = _float_input(input, "cross_entropy")
    if x.ndim == 0:
        raise ValueError("cross_entropy: input must be logits of shape (N, C) or (N, C, d1, ...), got a scalar")
    xp = x.xp
    class_axis = 0 if x.ndim == 1 else 1
    C = x.shape[class_axis]
    a = x.data
    tdata = target.data if isinstance(target, Tensor) else xp.asarray(target)
    prob_target = tdata.dtype.kind == "f"
    if not prob_target:
        _check_class_indices(tdata, x.shape, class_axis)
        if x.ndim == 2:
            return _reduce(_cross_entropy_rows(x, tdata, label_smoothing), reduction)

    shifted = a - a.max(axis=class_axis, keepdims=True)
    logp = shifted - xp.log(xp.exp(shifted).sum(axis=class_axis, keepdims=True))  # same shape as input
    if prob_target:
        if tuple(tdata.shape) != x.shape:
            raise ValueError(
                f"cross_entropy: probability targets must have the input's shape {x.shape}, got {tuple(tdata.shape)} "
                f"(for class indices pass an integer array of shape {x.shape[:class_axis] + x.shape[class_axis + 1:]})"
            )
        q = tdata.astype(a.dtype, copy=False)
    else:
        classes = xp.arange(C).reshape((C,) + (1,) * (x.ndim - class_axis - 1))  # (C, 1, ..., 1)
        q = (xp.expand_dims(tdata, class_axis) == classes).astype(a.dtype)  # one-hot, input's shape
    if label_smoothing > 0.0:
        q = q * (1.0 - label_smoothing) + label_smoothing / C

    per_sample = -(q * logp).sum(axis=class_axis)  # (N, d1, ...)
    q_total = q.sum(axis=class_axis, keepdims=True)  # (N, 1, d1, ...)
    target_t = target if isinstance(target, Tensor) and prob_target else None
    scale = 1.0 - label_smoothing

    def backward(g):
        g = xp.expand_dims(g, class_axis)  # (N, 1, d1, ...)
        gx = g * (xp.exp(logp) * q_total - q)
        gt = None
        if target_t is not None and target_t.requires_grad:
            gt = (-g * logp * scale).astype(target_t.dtype, copy=False)
        return gx, gt

    parents = (x,) if target_t is None else (x, target_t)
    loss = Tensor._make(per_sample, parents, backward, "cross_entropy")
    return _reduce(loss, reduction)


def _check_class_indices(tdata, shape: tuple, class_axis: int) -> None:
    """Raise unless ``tdata`` holds integer classes in ``[0, C)``, shaped as the input without its class axis."""
    C = shape[class_axis]
    if tdata.dtype.kind not in "iu":
        raise TypeError(f"cross_entropy: target must be integer class indices or float probabilities, got dtype {tdata.dtype}")
    expected = shape[:class_axis] + shape[class_axis + 1:]
    if tuple(tdata.shape) != expected:
        raise ValueError(f"cross_entropy: class-index target must have shape {expected} for input {shape}, got {tuple(tdata.shape)}")
    if tdata.size and (int(tdata.min()) < 0 or int(tdata.max()) >= C):
        bad = int(tdata.min()) if int(tdata.min()) < 0 else int(tdata.max())
        raise IndexError(f"cross_entropy: target value {bad} is out of range for {C} classes (expected 0 <= target < {C})")


def _row_max(a):
    """(N, C) -> (N,) the largest entry of each row. With few classes NumPy's row reduction runs a
    short inner loop per row; a transposed copy reduced over its rows is several times faster."""
    if a.shape[1] <= 64:
        return a.T.copy().max(axis=0)  # (C, N) contiguous -> (N,)
    return a.max(axis=1)


def _cross_entropy_rows(x: Tensor, target, label_smoothing: float) -> Tensor:
    """``cross_entropy(reduction="none")`` of logits x (N, C) and class indices target (N,) -> (N,).

    The common case, without the general path's one-hot (N, C) target: with ``e = exp(x - max)``
    and ``s`` its row sums, ``logp[n, t_n] = (x - max)[n, t_n] - log(s_n)``; with smoothing
    epsilon the loss adds ``epsilon * (logp[n, t_n] - mean_c logp[n, c])``. The gradient is
    ``softmax - q``: ``e / s - epsilon / C`` everywhere, less ``1 - epsilon`` at the target.
    """
    xp = x.xp
    a = x.data  # (N, C)
    n, c = a.shape
    ones = xp.ones(c, dtype=a.dtype)  # (C,): row sums as one matrix-vector product
    shifted = a - _row_max(a)[:, None]  # (N, C)
    e = xp.exp(shifted)  # (N, C)
    sums = e @ ones  # (N,)
    log_s = xp.log(sums)  # (N,)
    rows = xp.arange(n)
    logp_target = shifted[rows, target] - log_s  # (N,)
    eps = float(label_smoothing)
    per_sample = -logp_target  # (N,)
    if eps > 0.0:
        mean_logp = (shifted @ ones) * (1.0 / c) - log_s  # (N,) mean over classes of logp
        per_sample = (1.0 - eps) * per_sample - eps * mean_logp

    @fresh_gradients
    def backward(g):
        gx = e * (g / sums)[:, None]  # (N, C): g * softmax
        if eps > 0.0:
            gx -= (g * (eps / c))[:, None]
        gx[rows, target] -= g * (1.0 - eps)
        return (gx,)

    return Tensor._make(per_sample.astype(a.dtype, copy=False), (x,), backward, "cross_entropy")


def mse_loss(input, target, *, reduction: str = "mean") -> Tensor:
    """Mean squared error ``(input - target) ** 2``, reduced.

    Args:
        input: (*) floating.
        target: (*) the same shape as ``input`` (no silent broadcasting).
        reduction: "mean", "sum" or "none" (returns (*)).
    Returns:
        A scalar Tensor, or (*) when ``reduction="none"``.
    """
    reduction = _check_reduction(reduction, "mse_loss")
    x = _float_input(input, "mse_loss")
    t = _target_like(target, x, "mse_loss")
    diff = x - t
    return _reduce(diff * diff, reduction)


def binary_cross_entropy(input, target, *, reduction: str = "mean") -> Tensor:
    """Binary cross-entropy between probabilities and targets in [0, 1].

    ``loss = -(t * log(p) + (1 - t) * log(1 - p))`` with each log clamped at -100, as
    PyTorch does, so p = 0 or 1 gives a large finite loss, not inf.

    Args:
        input: probabilities (*) in [0, 1] (e.g. after a sigmoid).
        target: (*) the same shape, values in [0, 1].
        reduction: "mean", "sum" or "none".
    Returns:
        A scalar Tensor, or (*) when ``reduction="none"``.
    """
    reduction = _check_reduction(reduction, "binary_cross_entropy")
    x = _float_input(input, "binary_cross_entropy")
    t = _target_like(target, x, "binary_cross_entropy")
    xp = x.xp
    p, td = x.data, t.data
    if p.size and (float(p.min()) < 0.0 or float(p.max()) > 1.0):
        raise ValueError(f"binary_cross_entropy: input must hold probabilities in [0, 1], got values in [{float(p.min())}, {float(p.max())}]; use binary_cross_entropy_with_logits for logits")
    with np.errstate(divide="ignore"):
        log_p = xp.maximum(xp.log(p), -100.0)
        log_1mp = xp.maximum(xp.log1p(-p), -100.0)
    out = -(td * log_p + (1.0 - td) * log_1mp)

    def backward(g):
        gx = g * (p - td) / xp.maximum(p * (1.0 - p), 1e-12)
        gt = g * (log_1mp - log_p) if t.requires_grad else None
        return gx, gt

    return _reduce(Tensor._make(out, (x, t), backward, "binary_cross_entropy"), reduction)


def binary_cross_entropy_with_logits(input, target, *, reduction: str = "mean") -> Tensor:
    """Binary cross-entropy on logits, stable for any logit size.

    ``loss = max(x, 0) - x * t + log(1 + exp(-|x|))`` which equals
    ``-(t * log(sigmoid(x)) + (1 - t) * log(1 - sigmoid(x)))`` without overflow.

    Args:
        input: logits (*).
        target: (*) the same shape, values in [0, 1].
        reduction: "mean", "sum" or "none".
    Returns:
        A scalar Tensor, or (*) when ``reduction="none"``.
    """
    reduction = _check_reduction(reduction, "binary_cross_entropy_with_logits")
    x = _float_input(input, "binary_cross_entropy_with_logits")
    t = _target_like(target, x, "binary_cross_entropy_with_logits")
    xp = x.xp
    a, td = x.data, t.data
    out = xp.maximum(a, 0) - a * td + xp.log1p(xp.exp(-xp.abs(a)))

    def backward(g):
        gx = g * (stable_sigmoid(a) - td)
        gt = -g * a if t.requires_grad else None
        return gx, gt

    return _reduce(Tensor._make(out, (x, t), backward, "bce_with_logits"), reduction)


# ---------------------------------------------------------------------- module forms
class CrossEntropyLoss(Module):
    """Module form of ``cross_entropy``: logits (N, C[, d1, ...]) and class indices or probabilities.

    Keyword-only arguments (PyTorch's first positional ones, ``weight`` and
    ``ignore_index``, are not supported here):
        reduction: "mean" (default), "sum" or "none".
        label_smoothing: epsilon in [0, 1] (default 0.0).
    Shapes:
        input (N, C), target (N,) integers or (N, C) probabilities -> scalar
        (or (N,) with ``reduction="none"``).
    """

    def __init__(self, *, reduction: str = "mean", label_smoothing: float = 0.0):
        super().__init__()
        self.reduction = _check_reduction(reduction, "CrossEntropyLoss")
        self.label_smoothing = float(label_smoothing)

    def forward(self, input, target) -> Tensor:
        return cross_entropy(input, target, reduction=self.reduction, label_smoothing=self.label_smoothing)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}, label_smoothing={self.label_smoothing}"


class MSELoss(Module):
    """Module form of ``mse_loss``. Shapes: input (*), target (*) -> scalar (or (*) with "none")."""

    def __init__(self, *, reduction: str = "mean"):
        super().__init__()
        self.reduction = _check_reduction(reduction, "MSELoss")

    def forward(self, input, target) -> Tensor:
        return mse_loss(input, target, reduction=self.reduction)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


class BCELoss(Module):
    """Module form of ``binary_cross_entropy``: probabilities (*) and targets (*) -> scalar."""

    def __init__(self, *, reduction: str = "mean"):
        super().__init__()
        self.reduction = _check_reduction(reduction, "BCELoss")

    def forward(self, input, target) -> Tensor:
        return binary_cross_entropy(input, target, reduction=self.reduction)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"


class BCEWithLogitsLoss(Module):
    """Module form of ``binary_cross_entropy_with_logits``: logits (*) and targets (*) -> scalar."""

    def __init__(self, *, reduction: str = "mean"):
        super().__init__()
        self.reduction = _check_reduction(reduction, "BCEWithLogitsLoss")

    def forward(self, input, target) -> Tensor:
        return binary_cross_entropy_with_logits(input, target, reduction=self.reduction)

    def extra_repr(self) -> str:
        return f"reduction={self.reduction!r}"
