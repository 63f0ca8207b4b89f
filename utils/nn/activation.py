"""Activation layers: ``ReLU``, ``GELU``, ``Tanh``, ``Sigmoid``, ``LeakyReLU``, ``ELU``, ``Softmax``.

Every activation maps ``(*) -> (*)`` elementwise (Softmax along one axis). ReLU, GELU,
tanh, sigmoid and softmax are Tensor methods already; this file adds the functional
``leaky_relu`` and ``elu`` (each with its own backward) and the Module wrappers.
"""
from __future__ import annotations

import math

from ..tensor import Tensor, as_tensor
from .module import Module


def leaky_relu(x, negative_slope: float = 0.01) -> Tensor:
    """``x`` where ``x > 0``, else ``negative_slope * x``.

    Args:
        x: (*) - any shape.
    Returns:
        (*) - same shape and dtype.
    """
    x = as_tensor(x)
    a = x.data
    slope = x.xp.where(a > 0, 1.0, negative_slope).astype(a.dtype)  # (*) local derivative
    return Tensor._make(a * slope, (x,), lambda g: (g * slope,), "leaky_relu")


def elu(x, alpha: float = 1.0) -> Tensor:
    """``x`` where ``x > 0``, else ``alpha * (exp(x) - 1)``.

    Args:
        x: (*) - any shape.
    Returns:
        (*) - same shape and dtype.
    """
    x = as_tensor(x)
    xp = x.xp
    a = x.data
    positive = a > 0
    negative_part = alpha * xp.expm1(xp.minimum(a, 0))  # min() keeps exp from overflowing on the unused side
    out = xp.where(positive, a, negative_part).astype(a.dtype, copy=False)
    slope = xp.where(positive, 1.0, negative_part + alpha).astype(a.dtype, copy=False)  # d/dx alpha*(e^x - 1) = out + alpha
    return Tensor._make(out, (x,), lambda g: (g * slope,), "elu")


def gelu_tanh(x) -> Tensor:
    """GELU's tanh approximation: ``0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))``.

    Args:
        x: (*) - any shape.
    Returns:
        (*) - same shape and dtype.
    """
    x = as_tensor(x)
    xp = x.xp
    a = x.data
    c = math.sqrt(2.0 / math.pi)
    t = xp.tanh(c * (a + 0.044715 * a ** 3))
    out = 0.5 * a * (1.0 + t)
    slope = 0.5 * (1.0 + t) + 0.5 * a * (1.0 - t * t) * c * (1.0 + 3 * 0.044715 * a * a)
    return Tensor._make(out.astype(a.dtype, copy=False), (x,), lambda g: (g * slope.astype(a.dtype, copy=False),), "gelu_tanh")


class _Elementwise(Module):
    """A Module calling ``fn`` on its (wrapped) input: (*) -> (*)."""

    def _fn(self, x: Tensor) -> Tensor:
        raise NotImplementedError

    def forward(self, x) -> Tensor:
        return self._fn(self._input(x))


class ReLU(_Elementwise):
    """``max(x, 0)``. Shapes: (*) -> (*)."""

    def _fn(self, x):
        return x.relu()


class GELU(_Elementwise):
    """``x * Phi(x)`` with Phi the standard normal CDF (``approximate='none'``), or its tanh
    approximation (``approximate='tanh'``). Shapes: (*) -> (*)."""

    def __init__(self, approximate: str = "none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate must be 'none' or 'tanh', got {approximate!r}")
        self.approximate = approximate

    def _fn(self, x):
        return x.gelu() if self.approximate == "none" else gelu_tanh(x)

    def extra_repr(self) -> str:
        return f"approximate={self.approximate!r}"


class Tanh(_Elementwise):
    """``tanh(x)``. Shapes: (*) -> (*)."""

    def _fn(self, x):
        return x.tanh()


class Sigmoid(_Elementwise):
    """``1 / (1 + exp(-x))``, computed without overflow. Shapes: (*) -> (*)."""

    def _fn(self, x):
        return x.sigmoid()


class LeakyReLU(_Elementwise):
    """``x`` for ``x > 0``, else ``negative_slope * x`` (default 0.01). Shapes: (*) -> (*)."""

    def __init__(self, negative_slope: float = 0.01):
        super().__init__()
        self.negative_slope = negative_slope

    def _fn(self, x):
        return leaky_relu(x, self.negative_slope)

    def extra_repr(self) -> str:
        return f"negative_slope={self.negative_slope}"


class ELU(_Elementwise):
    """``x`` for ``x > 0``, else ``alpha * (exp(x) - 1)`` (default alpha 1.0). Shapes: (*) -> (*)."""

    def __init__(self, alpha: float = 1.0):
        super().__init__()
        self.alpha = alpha

    def _fn(self, x):
        return elu(x, self.alpha)

    def extra_repr(self) -> str:
        return f"alpha={self.alpha}"


class Softmax(_Elementwise):
    """``exp(x) / sum(exp(x))`` along ``dim`` (default -1), shifted by the max for stability.

    Shapes: (*) -> (*); slices along ``dim`` sum to 1.
    """

    def __init__(self, dim: int = -1):
        super().__init__()
        self.dim = dim

    def _fn(self, x):
        if x.ndim == 0 or not -x.ndim <= self.dim < x.ndim:
            raise ValueError(f"{self!r}: dim {self.dim} is out of range for an input of shape {x.shape}")
        return x.softmax(axis=self.dim)

    def extra_repr(self) -> str:
        return f"dim={self.dim}"
