"""Evaluation metrics that return plain Python floats (no gradient, any backend)."""
from __future__ import annotations

import numpy as np

from .backend import asnumpy


def _is_one_hot(a: np.ndarray) -> bool:
    """True when every row along the last axis holds one 1 and zeros elsewhere."""
    return a.ndim >= 2 and a.shape[-1] >= 2 and bool(np.all((a == 0) | (a == 1))) and bool(np.all(a.sum(axis=-1) == 1))


def accuracy(logits_or_preds, targets) -> float:
    """The fraction of correct predictions.

    Args:
        logits_or_preds: either scores (N, C) / (N, ..., C) — logits or probabilities,
            the prediction is the argmax over the last axis — or predicted class
            indices with the same shape as ``targets``. Tensor or array.
        targets: integer class indices (N,) or (N, ...); or one-hot rows (N, ..., C) of
            the scores' shape (each row one 1, zeros elsewhere), whose class is the
            argmax. Tensor or array.
    Returns:
        A Python float in [0, 1].
    """
    preds = asnumpy(logits_or_preds)
    targets = asnumpy(targets)
    if targets.size == 0:
        raise ValueError("accuracy: no targets given (empty array)")
    if preds.shape == targets.shape and _is_one_hot(targets) and (preds.dtype.kind == "f" or _is_one_hot(preds)):
        preds, targets = preds.argmax(axis=-1), targets.argmax(axis=-1)  # one-hot targets: compare classes
    elif preds.ndim == targets.ndim + 1 and preds.shape[:-1] == targets.shape:
        preds = preds.argmax(axis=-1)  # (N, ...)
    elif preds.shape != targets.shape:
        raise ValueError(
            f"accuracy: expected scores of shape {targets.shape + ('C',)} or predictions of shape {targets.shape} "
            f"(the targets' shape), got {preds.shape}"
        )
    return float(np.mean(preds == targets))


def mse(pred, target) -> float:
    """Mean squared error ``mean((pred - target) ** 2)`` as a Python float.

    Args:
        pred: (*) Tensor or array.
        target: (*) the same shape.
    """
    pred = asnumpy(pred).astype(np.float64)
    target = asnumpy(target).astype(np.float64)
    if pred.shape != target.shape:
        raise ValueError(f"mse: prediction shape {pred.shape} does not match target shape {target.shape}")
    return float(np.mean((pred - target) ** 2))
