"""The fully connected layer ``Linear``, plus ``Flatten`` and ``Identity``.

``linear(x, W, b) = x @ W.T + b`` with ``W`` shaped ``(out_features, in_features)`` as in
PyTorch. Its backward is fused: one GEMM for the input gradient, one for the weight.
"""
from __future__ import annotations

from ..tensor import Tensor, as_tensor, fresh_gradients
from .init import uniform_fan_in
from .module import Module, Parameter


def check_same_float_dtype(layer, x: Tensor, weight: Tensor) -> None:
    """Raise ``TypeError`` naming ``layer`` unless ``x`` is floating with the weight's dtype.

    ``layer`` is a name or a module; a module's ``repr`` is only built for the message.
    """
    if x.dtype.kind != "f" or x.dtype != weight.dtype:
        name = layer if isinstance(layer, str) else repr(layer)
        raise TypeError(f"{name}: expected input of dtype {weight.dtype} (the weight's dtype), got {x.dtype}")


def linear(x, weight: Tensor, bias: Tensor = None) -> Tensor:
    """Affine map over the last axis: ``x @ weight.T + bias``.

    Args:
        x: (*, in_features) - any number of leading dimensions.
        weight: (out_features, in_features).
        bias: (out_features,) or None.
    Returns:
        (*, out_features).
    """
    x = as_tensor(x)
    out_features, in_features = weight.shape
    if x.ndim == 0 or x.shape[-1] != in_features:
        raise ValueError(f"linear: expected input of shape (*, {in_features}) for a weight of shape {weight.shape}, got {x.shape}")
    check_same_float_dtype("linear", x, weight)
    lead = x.shape[:-1]
    x2 = x.data.reshape(-1, in_features)  # (M, in)
    w = weight.data
    out = x2 @ w.T  # (M, out)
    if bias is not None:
        out += bias.data

    @fresh_gradients  # three new products: a leaf weight keeps its gradient without a copy
    def backward(g):
        g2 = g.reshape(-1, out_features)  # (M, out)
        gx = (g2 @ w).reshape(lead + (in_features,)) if x.requires_grad else None  # (*, in)
        gw = g2.T @ x2 if weight.requires_grad else None  # (out, in)
        gb = g2.sum(axis=0) if bias is not None and bias.requires_grad else None  # (out,)
        return gx, gw, gb

    parents = (x, weight) if bias is None else (x, weight, bias)
    return Tensor._make(out.reshape(lead + (out_features,)), parents, backward, "linear")  # (*, out)


class Linear(Module):
    """``y = x @ W.T + b``, PyTorch's ``nn.Linear``.

    Args:
        in_features: size of each input's last axis.
        out_features: size of each output's last axis.
        bias: learn an additive bias (default True).
        device, dtype: where and in which float type the parameters live.
    Parameters:
        weight: (out_features, in_features), ``U(-1/sqrt(in_features), 1/sqrt(in_features))``.
        bias: (out_features,), same distribution.
    Shapes:
        x: (*, in_features) -> (*, out_features).
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, device=None, dtype=None):
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.weight = Parameter(uniform_fan_in((out_features, in_features), in_features, dtype=dtype, device=device))
        self.bias = Parameter(uniform_fan_in((out_features,), in_features, dtype=dtype, device=device)) if bias else None

    def forward(self, x) -> Tensor:
        x = self._input(x)
        if x.ndim == 0 or x.shape[-1] != self.in_features:
            raise ValueError(f"{self!r}: expected input of shape (*, {self.in_features}), got {x.shape}")
        check_same_float_dtype(self, x, self.weight)
        return linear(x, self.weight, self.bias)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Flatten(Module):
    """Merge dimensions ``start_dim`` .. ``end_dim`` into one (PyTorch's ``nn.Flatten``).

    Shapes (defaults): (N, C, H, W) -> (N, C*H*W).
    """

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        super().__init__()
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, x) -> Tensor:
        x = self._input(x)
        if x.ndim == 0:
            raise ValueError(f"{self!r}: expected an input with at least one dimension, got a scalar")
        return x.flatten(self.start_dim, self.end_dim)

    def extra_repr(self) -> str:
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Identity(Module):
    """Return the input unchanged: (*) -> (*). A placeholder where a block needs no layer."""

    def forward(self, x):
        return x
