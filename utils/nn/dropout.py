"""Inverted dropout: zero each entry with probability ``p``, scale survivors by ``1/(1-p)``.

The scaling keeps the expected value of every entry unchanged, so evaluation mode is
simply the identity. The mask comes from the backend's global generator (seed NumPy
with ``np.random.seed``; CuPy with ``cupy.random.seed``).
"""
from __future__ import annotations

from ..tensor import Tensor, as_tensor
from .module import Module


def _check_p(p: float, layer: str) -> float:
    if not 0.0 <= p < 1.0:
        raise ValueError(f"{layer}: drop probability p must be in [0, 1), got {p}")
    return float(p)


def dropout(x, p: float = 0.5, training: bool = True) -> Tensor:
    """Zero entries with probability ``p`` and scale the rest by ``1/(1-p)`` (when ``training``).

    Args:
        x: (*) - any shape.
        p: the DROP probability, in [0, 1).
        training: apply dropout; when False return ``x`` itself.
    Returns:
        (*) - same shape and dtype as ``x``.
    """
    p = _check_p(p, "dropout")
    x = as_tensor(x)
    if not training or p == 0.0:
        return x
    xp = x.xp
    keep = xp.random.random_sample(x.shape) >= p  # (*) boolean
    scale = (keep * (1.0 / (1.0 - p))).astype(x.dtype)  # (*) 0 or 1/(1-p)
    return Tensor._make(x.data * scale, (x,), lambda g: (g * scale,), "dropout")


class Dropout(Module):
    """PyTorch's ``nn.Dropout``: inverted dropout in training mode, identity in eval mode.

    Args:
        p: probability of zeroing an entry (default 0.5), in [0, 1).
    Shapes:
        x: (*) -> (*).
    """

    def __init__(self, p: float = 0.5):
        super().__init__()
        self.p = _check_p(p, "Dropout")

    def forward(self, x) -> Tensor:
        return dropout(self._input(x), self.p, self.training)

    def extra_repr(self) -> str:
        return f"p={self.p}"
