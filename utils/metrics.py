"""Evaluation metrics that return plain Python floats (no gradient, any backend)."""
from __future__ import annotations

import numpy as np

from .backend import asnumpy


def accuracy(logits_or_preds, targets) -> float:
    """The fraction of correct predictions.

    Args:
        logits_or_preds: either scores (N, C) / (N, ..., C) — logits or probabilities,
            the prediction is the argmax over the last axis — or predicted class
            indices with the same shape as ``targets``. Tensor or array.
        targets: integer class indices (N,) or (N, ...). Tensor or array.
    Returns:
        A Python float in [0, 1].
    """
    preds = asnumpy(logits_or_preds)
    targets = asnumpy(targets)
    if preds.ndim == targets.ndim + 1 and preds.shape[:-1] == targets.shape:
        preds = preds.argmax(axis=-1)  # (N, ...)
    elif preds.shape != targets.shape:
        raise ValueError(
            f"accuracy: expected scores of shape {targets.shape + ('C',)} or predictions of shape {targets.shape} "
            f"(the targets' shape), got {preds.shape}"
        )
    if targets.size == 0:
        raise ValueError("accuracy: no targets given (empty array)")
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
