"""PyTorch's default initialisation for Linear and Conv layers.

PyTorch initialises a Linear or Conv weight with ``kaiming_uniform_(a=sqrt(5))``,
which works out to ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``, and the bias with the
same bound. ``fan_in`` is the number of inputs feeding one output unit:
``in_features`` for Linear, ``in_channels * kh * kw`` for Conv2d.

Draws come from NumPy's global generator (seed it with ``np.random.seed``) or from an
explicit ``rng`` (a ``np.random.Generator``), always on the host, so the same seed
gives the same weights on CPU and GPU.
"""
from __future__ import annotations

import math

import numpy as np

from ..backend import check_device, to_device
from ..tensor import DEFAULT_DTYPE


def fan_in_of(weight_shape) -> int:
    """Inputs per output unit of a weight shaped ``(out, in, *kernel)``: ``in * prod(kernel)``.

    weight_shape: ``(out_features, in_features)`` or ``(out_channels, in_channels, kh, kw)``.
    """
    if len(weight_shape) < 2:
        raise ValueError(f"fan_in_of needs a weight with at least 2 dimensions (out, in, ...), got shape {tuple(weight_shape)}")
    return int(np.prod(weight_shape[1:]))


def uniform_fan_in(shape, fan_in: int, rng=None, dtype=None, device=None):
    """An array of ``shape`` drawn from ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``.

    Args:
        shape: the shape of the array to draw, e.g. ``(out, in)`` or ``(out,)``.
        fan_in: the number of inputs per output unit (must be positive).
        rng: a ``np.random.Generator``; NumPy's global generator when None.
        dtype: the element type (float32 by default).
        device: ``'cpu'`` or ``'cuda'`` (the default device when None).
    Returns:
        A NumPy or CuPy array of ``shape`` and ``dtype`` on ``device``.
    """
    if fan_in <= 0:
        raise ValueError(f"uniform_fan_in needs a positive fan_in, got {fan_in}")
    bound = 1.0 / math.sqrt(fan_in)
    source = np.random if rng is None else rng
    values = source.uniform(-bound, bound, size=tuple(shape)).astype(dtype or DEFAULT_DTYPE)
    return to_device(values, check_device(device))
