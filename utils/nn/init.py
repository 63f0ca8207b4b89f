"""Weight initialisers with PyTorch's names (``torch.nn.init``), and the layers' defaults.

Choose an initialiser for a layer by calling one on its parameters, in place, as in
PyTorch::

    layer = nn.Linear(256, 128)
    nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
    nn.init.zeros_(layer.bias)

    def init_weights(m):                      # a whole model: Module.apply
        if isinstance(m, (nn.Linear, nn.Conv2d)):
            nn.init.xavier_uniform_(m.weight)
    model.apply(init_weights)

Every function fills ``tensor.data`` in place (no graph is recorded), keeps the tensor's
dtype and device, and returns the tensor. Random draws happen on the host, from NumPy's
global generator (seed it with ``np.random.seed``) or from ``generator`` (a
``np.random.Generator``), so the same seed gives the same weights on CPU and GPU.

Fans, for a weight shaped ``(out, in, *kernel)`` (Linear ``(out, in)``, Conv2d
``(out, in, kh, kw)``, recurrent ``(gates*H, in)``)::

    fan_in  = in  * prod(kernel)
    fan_out = out * prod(kernel)

Layers' defaults (what a layer holds before you call anything here): PyTorch's
``kaiming_uniform_(a=sqrt(5))`` for Linear and Conv2d weights, which works out to
``U(-1/sqrt(fan_in), 1/sqrt(fan_in))``, the same bound for their biases, and
``U(-1/sqrt(H), 1/sqrt(H))`` for every recurrent weight and bias; ``uniform_fan_in``
draws them.
"""
from __future__ import annotations

import math

import numpy as np

from ..backend import check_device, to_device
from ..tensor import DEFAULT_DTYPE, Tensor

_GAINS = {"linear": 1.0, "identity": 1.0, "conv1d": 1.0, "conv2d": 1.0, "conv3d": 1.0, "conv_transpose1d": 1.0,
          "conv_transpose2d": 1.0, "conv_transpose3d": 1.0, "sigmoid": 1.0, "tanh": 5.0 / 3.0, "relu": math.sqrt(2.0),
          "selu": 3.0 / 4.0}


# ---------------------------------------------------------------------- fans and gains
def fan_in_of(weight_shape) -> int:
    """Inputs per output unit of a weight shaped ``(out, in, *kernel)``: ``in * prod(kernel)``.

    weight_shape: ``(out_features, in_features)`` or ``(out_channels, in_channels, kh, kw)``.
    """
    return fan_in_and_fan_out(weight_shape)[0]


def fan_in_and_fan_out(weight_shape) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a weight shaped ``(out, in, *kernel)`` (see the module docstring)."""
    shape = tuple(weight_shape)
    if len(shape) < 2:
        raise ValueError(f"fan in and fan out need a weight with at least 2 dimensions (out, in, ...), got shape {shape}")
    receptive = int(np.prod(shape[2:])) if len(shape) > 2 else 1
    return int(shape[1]) * receptive, int(shape[0]) * receptive


def calculate_gain(nonlinearity: str, param=None) -> float:
    """The gain PyTorch recommends for ``nonlinearity`` (``torch.nn.init.calculate_gain``).

    linear/conv/sigmoid 1, tanh 5/3, relu sqrt(2), selu 3/4,
    leaky_relu sqrt(2 / (1 + slope**2)) with ``param`` the negative slope (0.01 when None).
    """
    name = str(nonlinearity).lower()
    if name == "leaky_relu":
        slope = 0.01 if param is None else param
        if isinstance(slope, bool) or not isinstance(slope, (int, float)):
            raise ValueError(f"calculate_gain: negative_slope {slope!r} is not a number")
        return math.sqrt(2.0 / (1.0 + float(slope) ** 2))
    if name not in _GAINS:
        raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}; expected one of {sorted(_GAINS) + ['leaky_relu']}")
    return _GAINS[name]


def _fan(tensor, mode: str) -> int:
    fan_in, fan_out = fan_in_and_fan_out(tensor.shape)
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"mode must be 'fan_in' or 'fan_out', got {mode!r}")
    return fan_in if mode == "fan_in" else fan_out


# ---------------------------------------------------------------------- filling in place
def _fill(tensor: Tensor, values) -> Tensor:
    """Copy host ``values`` into ``tensor.data`` (same dtype and device), in place."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"initialisers fill a Tensor or Parameter in place, got {type(tensor).__name__}")
    values = np.asarray(values).astype(tensor.dtype, copy=False)
    tensor.data[...] = to_device(values, tensor.device)
    return tensor


def _source(generator):
    return np.random if generator is None else generator


DRAW_BLOCK = 1 << 20  # values per call to the generator: its float64 scratch stays at 8 MB


def _draw(source, method: str, shape, dtype, *params) -> np.ndarray:
    """``source.<method>(*params, size=shape)`` cast to ``dtype``, drawn ``DRAW_BLOCK`` values at a time.

    NumPy's generators draw in sequence, so the values equal one whole draw's, bit for bit; but a
    large float32 weight (AlexNet's 4096 x 9216) never has a float64 copy of itself beside it.
    """
    out = np.empty(tuple(shape), dtype=dtype)
    flat = out.reshape(-1)  # (size,), a view
    for start in range(0, flat.size, DRAW_BLOCK):
        stop = min(start + DRAW_BLOCK, flat.size)
        flat[start:stop] = getattr(source, method)(*params, size=stop - start)
    return out


def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0, generator=None) -> Tensor:
    """Fill ``tensor`` with draws from ``U(a, b)``."""
    return _fill(tensor, _draw(_source(generator), "uniform", tensor.shape, tensor.dtype, a, b))


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, generator=None) -> Tensor:
    """Fill ``tensor`` with draws from ``N(mean, std**2)``."""
    return _fill(tensor, _draw(_source(generator), "normal", tensor.shape, tensor.dtype, mean, std))


def constant_(tensor: Tensor, val: float) -> Tensor:
    """Fill ``tensor`` with ``val``."""
    return _fill(tensor, np.full(tensor.shape, val))


def zeros_(tensor: Tensor) -> Tensor:
    """Fill ``tensor`` with 0 (the usual choice for biases)."""
    return constant_(tensor, 0.0)


def ones_(tensor: Tensor) -> Tensor:
    """Fill ``tensor`` with 1."""
    return constant_(tensor, 1.0)


def xavier_uniform_(tensor: Tensor, gain: float = 1.0, generator=None) -> Tensor:
    """Glorot & Bengio (2010): ``U(-b, b)`` with ``b = gain * sqrt(6 / (fan_in + fan_out))``.

    Keeps the variance of activations and of gradients about equal across layers with
    symmetric activations (tanh, sigmoid); pass ``gain=calculate_gain('tanh')`` for tanh.
    """
    fan_in, fan_out = fan_in_and_fan_out(tensor.shape)
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(tensor, -bound, bound, generator)


def xavier_normal_(tensor: Tensor, gain: float = 1.0, generator=None) -> Tensor:
    """Glorot & Bengio (2010): ``N(0, std**2)`` with ``std = gain * sqrt(2 / (fan_in + fan_out))``."""
    fan_in, fan_out = fan_in_and_fan_out(tensor.shape)
    return normal_(tensor, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)), generator)


def kaiming_uniform_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
                     generator=None) -> Tensor:
    """He et al. (2015): ``U(-b, b)`` with ``b = gain * sqrt(3 / fan)``, gain from ``calculate_gain``.

    Args:
        a: the negative slope of the leaky ReLU that follows (0 means ReLU).
        mode: ``'fan_in'`` keeps forward activations' variance, ``'fan_out'`` the gradients'.
        nonlinearity: ``'relu'`` or ``'leaky_relu'`` (PyTorch's default, with slope ``a``).
    """
    gain = calculate_gain(nonlinearity, a)
    bound = gain * math.sqrt(3.0 / _fan(tensor, mode))
    return uniform_(tensor, -bound, bound, generator)


def kaiming_normal_(tensor: Tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu",
                    generator=None) -> Tensor:
    """He et al. (2015): ``N(0, std**2)`` with ``std = gain / sqrt(fan)`` (arguments as ``kaiming_uniform_``)."""
    gain = calculate_gain(nonlinearity, a)
    return normal_(tensor, 0.0, gain / math.sqrt(_fan(tensor, mode)), generator)


def orthogonal_(tensor: Tensor, gain: float = 1.0, generator=None) -> Tensor:
    """Saxe et al. (2014): a (semi-)orthogonal matrix times ``gain``, often used for recurrent weights.

    The weight is viewed as ``(shape[0], prod(shape[1:]))``; its rows (or columns, whichever
    are fewer) are orthonormal.
    """
    if tensor.ndim < 2:
        raise ValueError(f"orthogonal_ needs a tensor with at least 2 dimensions, got shape {tensor.shape}")
    rows = tensor.shape[0]
    cols = tensor.size // rows
    flat = _source(generator).normal(0.0, 1.0, size=(rows, cols))
    if rows < cols:
        flat = flat.T  # (cols, rows): QR of a tall matrix
    q, r = np.linalg.qr(flat)
    q *= np.sign(np.diag(r))  # a unique, uniformly distributed Q
    if rows < cols:
        q = q.T
    return _fill(tensor, gain * q.reshape(tensor.shape))


# ---------------------------------------------------------------------- layers' defaults
def uniform_fan_in(shape, fan_in: int, rng=None, dtype=None, device=None) -> Tensor:
    """A Tensor of ``shape`` drawn from ``U(-1/sqrt(fan_in), 1/sqrt(fan_in))`` (layers' default init).

    Args:
        shape: the shape to draw, e.g. ``(out, in)`` or ``(out,)``.
        fan_in: the number of inputs per output unit (must be positive).
        rng: a ``np.random.Generator``; NumPy's global generator when None.
        dtype: the element type (float32 by default).
        device: ``'cpu'`` or ``'cuda'`` (the default device when None).
    Returns:
        A constant Tensor of ``shape`` and ``dtype`` on ``device``; ``Parameter(...)`` of it
        keeps both.
    """
    if fan_in <= 0:
        raise ValueError(f"uniform_fan_in needs a positive fan_in, got {fan_in}")
    bound = 1.0 / math.sqrt(fan_in)
    dtype = np.dtype(dtype or DEFAULT_DTYPE)
    values = _draw(_source(rng), "uniform", shape, dtype, -bound, bound)  # shape
    return Tensor(values, dtype=dtype, device=check_device(device))
