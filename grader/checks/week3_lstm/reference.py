"""References for week 3's hidden checks (instructor side, never shipped)."""
from __future__ import annotations

import numpy as np

__all__ = ["windows_reference"]


def windows_reference(series, seq_len: int, horizon: int = 1):
    """``(X, y)`` by an explicit loop: X (N, seq_len, F), y (N, F), N = T - seq_len - horizon + 1."""
    s = np.asarray(series)
    s = s[:, None] if s.ndim == 1 else s  # (T, F)
    N = len(s) - seq_len - horizon + 1
    X = np.stack([s[n:n + seq_len] for n in range(N)])  # (N, seq_len, F)
    y = np.stack([s[n + seq_len + horizon - 1] for n in range(N)])  # (N, F)
    return X, y
