"""The vanilla (Elman) recurrent network: ``RNNCell`` (one step) and ``RNN`` (whole sequences).

One step, PyTorch's ``nn.RNNCell``::

    h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)        (or relu with nonlinearity='relu')

``RNNCell`` is written with ordinary Tensor ops (readable, one step). ``RNN`` runs each
layer over the whole sequence as ONE autograd node (``rnn_layer``): all input projections
in one GEMM, one GEMM per step for the hidden path, and backpropagation through time
written out on raw arrays. The two are tested against each other, against finite
differences (float64) and against PyTorch where it is installed.

``StackedRecurrent`` holds what ``RNN``, ``GRU`` and ``LSTM`` share: PyTorch's parameter
names (``weight_ih_l{k}``, ``weight_hh_l{k}``, ``bias_ih_l{k}``, ``bias_hh_l{k}``), the
``(T, N, *)`` / ``batch_first`` layouts, the initial state, stacking and dropout between layers.
"""
from __future__ import annotations

from ..tensor import Tensor, stack
from .dropout import dropout as _dropout
from .init import uniform_fan_in
from .module import Module, Parameter

NONLINEARITIES = ("tanh", "relu")


def recurrent_parameter(shape, hidden_size: int, dtype, device) -> Parameter:
    """A Parameter drawn from U(-1/sqrt(H), 1/sqrt(H)), PyTorch's init for every recurrent weight and bias."""
    return Parameter(uniform_fan_in(shape, hidden_size, dtype=dtype, device=device))


def _check_nonlinearity(nonlinearity: str, layer: str) -> str:
    if nonlinearity not in NONLINEARITIES:
        raise ValueError(f"{layer}: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
    return nonlinearity


def _cell_inputs(cell: Module, x, hx, name: str):
    """Validate a cell's input; returns ``(x (N, I), h (N, H), unbatched)``, zeros for a missing ``hx``."""
    x = cell._input(x)
    unbatched = x.ndim == 1
    if unbatched:
        x = x.reshape(1, -1)  # (1, I)
    if x.ndim != 2 or x.shape[1] != cell.input_size:
        raise ValueError(f"{name}: expected input of shape (N, {cell.input_size}) or ({cell.input_size},), got {x.shape}")
    if x.dtype != cell.weight_ih.dtype:
        raise TypeError(f"{name}: expected input of dtype {cell.weight_ih.dtype} (the weights' dtype), got {x.dtype}")
    N, H = x.shape[0], cell.hidden_size
    if hx is None:
        return x, Tensor._make(x.xp.zeros((N, H), dtype=x.dtype)), unbatched
    h = cell._input(hx)
    if unbatched and h.ndim == 1:
        h = h.reshape(1, -1)
    if h.shape != (N, H):
        raise ValueError(f"{name}: expected a hidden state of shape (N, H) = {(N, H)}, got {h.shape}")
    return x, h, unbatched


class RNNCell(Module):
    """One step of a vanilla RNN, PyTorch's ``nn.RNNCell``.

    Args:
        input_size: I, features per input vector.
        hidden_size: H, features of the hidden state.
        bias: learn ``bias_ih`` and ``bias_hh`` (default True).
        nonlinearity: ``'tanh'`` (default) or ``'relu'``.
    Parameters (all drawn from U(-1/sqrt(H), 1/sqrt(H))):
        weight_ih: (H, I); weight_hh: (H, H); bias_ih, bias_hh: (H,).
    Shapes:
        x: (N, I) or (I,); hx: optional (N, H) or (H,), zeros when None.
        returns h': (N, H) (or (H,) for an unbatched input).
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh",
                 device=None, dtype=None):
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.nonlinearity = _check_nonlinearity(nonlinearity, "RNNCell")
        H = hidden_size
        self.weight_ih = recurrent_parameter((H, input_size), H, dtype, device)
        self.weight_hh = recurrent_parameter((H, H), H, dtype, device)
        self.bias_ih = recurrent_parameter((H,), H, dtype, device) if bias else None
        self.bias_hh = recurrent_parameter((H,), H, dtype, device) if bias else None

    def forward(self, x, hx=None) -> Tensor:
        x, h, unbatched = _cell_inputs(self, x, hx, "RNNCell")
        a = x @ self.weight_ih.T + h @ self.weight_hh.T  # (N, H)
        if self.bias_ih is not None:
            a = a + self.bias_ih + self.bias_hh
        h_next = a.tanh() if self.nonlinearity == "tanh" else a.relu()  # (N, H)
        return h_next.reshape(-1) if unbatched else h_next

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, bias={self.bias_ih is not None}, nonlinearity={self.nonlinearity!r}"


def rnn_layer(x: Tensor, h0: Tensor, weight_ih: Tensor, weight_hh: Tensor, bias_ih=None, bias_hh=None,
              nonlinearity: str = "tanh") -> Tensor:
    """Run one vanilla RNN layer over a whole sequence as a single fused autograd op.

    Args:
        x: (T, N, I) time-major input.
        h0: (N, H) initial hidden state.
        weight_ih: (H, I); weight_hh: (H, H); bias_ih, bias_hh: (H,) or None.
        nonlinearity: ``'tanh'`` or ``'relu'``.
    Returns:
        (T, N, H): the hidden states h_1 .. h_T.
    """
    _check_nonlinearity(nonlinearity, "rnn_layer")
    xp = x.xp
    T, N, I = x.shape
    H = weight_hh.shape[1]
    dt = x.dtype
    Wih, Whh = weight_ih.data, weight_hh.data
    x2 = x.data.reshape(T * N, I)  # (T*N, I)
    pre = x2 @ Wih.T  # (T*N, H): every step's input projection in one GEMM
    if bias_ih is not None:
        pre += bias_ih.data + bias_hh.data
    pre = pre.reshape(T, N, H)
    WhhT = Whh.T  # (H, H)
    hs = xp.empty((T + 1, N, H), dtype=dt)  # h_0 .. h_T
    hs[0] = h0.data
    for t in range(T):
        a = hs[t + 1]  # (N, H), written in place
        xp.matmul(hs[t], WhhT, out=a)
        a += pre[t]
        if nonlinearity == "tanh":
            xp.tanh(a, out=a)
        else:
            xp.maximum(a, 0, out=a)

    def backward(grad):
        out = hs[1:]  # (T, N, H)
        deriv = 1.0 - out * out if nonlinearity == "tanh" else (out > 0).astype(dt)  # d h_t / d a_t
        dA = xp.empty((T, N, H), dtype=dt)  # gradient of the pre-activations
        dh_next = xp.zeros((N, H), dtype=dt)
        for t in range(T - 1, -1, -1):
            xp.multiply(grad[t] + dh_next, deriv[t], out=dA[t])
            dh_next = dA[t] @ Whh  # (N, H)
        dA2 = dA.reshape(T * N, H)
        gx = (dA2 @ Wih).reshape(T, N, I) if x.requires_grad else None  # (T, N, I)
        gWih = dA2.T @ x2 if weight_ih.requires_grad else None  # (H, I)
        gWhh = dA2.T @ hs[:T].reshape(T * N, H) if weight_hh.requires_grad else None  # (H, H)
        gb = dA2.sum(axis=0) if bias_ih is not None else None  # (H,)
        return gx, dh_next, gWih, gWhh, gb, gb

    parents = (x, h0, weight_ih, weight_hh)
    if bias_ih is not None:
        parents += (bias_ih, bias_hh)
    return Tensor._make(hs[1:], parents, backward, "rnn_layer")


class StackedRecurrent(Module):
    """What ``RNN``, ``GRU`` and ``LSTM`` share: parameters per layer, layouts, state, stacking, dropout.

    Subclasses set ``GATES`` (1 for RNN, 3 for GRU, 4 for LSTM), ``STATES`` (1: the state
    is h; 2: it is the pair (h, c), as in LSTM) and ``NAME``, and implement
    ``_layer(x (T, N, I), state0, k) -> (out (T, N, H), final)`` where ``state0`` and
    ``final`` are tuples of ``STATES`` tensors, each (N, H).
    """

    GATES = 1
    STATES = 1
    NAME = "StackedRecurrent"

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, device=None, dtype=None):
        super().__init__()
        if num_layers < 1:
            raise ValueError(f"{self.NAME}: num_layers must be at least 1, got {num_layers}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"{self.NAME}: dropout must be in [0, 1), got {dropout}")
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        G, H = self.GATES * hidden_size, hidden_size
        for k in range(num_layers):
            in_k = input_size if k == 0 else H
            setattr(self, f"weight_ih_l{k}", recurrent_parameter((G, in_k), H, dtype, device))
            setattr(self, f"weight_hh_l{k}", recurrent_parameter((G, H), H, dtype, device))
            if bias:
                setattr(self, f"bias_ih_l{k}", recurrent_parameter((G,), H, dtype, device))
                setattr(self, f"bias_hh_l{k}", recurrent_parameter((G,), H, dtype, device))

    def _weights(self, k: int):
        """``(weight_ih, weight_hh, bias_ih, bias_hh)`` of layer ``k`` (biases None without bias)."""
        get = lambda name: getattr(self, f"{name}_l{k}") if self.bias or name.startswith("weight") else None  # noqa: E731
        return get("weight_ih"), get("weight_hh"), get("bias_ih"), get("bias_hh")

    def _layer(self, x: Tensor, state0: tuple, k: int):
        raise NotImplementedError

    def _initial_state(self, hx, x: Tensor) -> tuple:
        """``STATES`` tensors, each (num_layers, N, H): zeros for ``hx=None``, else ``hx`` checked."""
        H, layers, N = self.hidden_size, self.num_layers, x.shape[1]
        if hx is None:
            return (Tensor._make(x.xp.zeros((layers, N, H), dtype=x.dtype)),) * self.STATES
        state = (self._input(hx),) if self.STATES == 1 else tuple(self._input(hx[j]) for j in range(self.STATES))
        if any(s.shape != (layers, N, H) for s in state):
            names = "h0" if self.STATES == 1 else "h0 and c0"
            raise ValueError(f"{self.NAME}: expected {names} of shape (num_layers, N, H) = {(layers, N, H)}, "
                             f"got {' and '.join(str(s.shape) for s in state)}")
        return state

    def forward(self, x, hx=None):
        x = self._input(x)
        layout = "(N, T, I)" if self.batch_first else "(T, N, I)"
        if x.ndim != 3 or x.shape[-1] != self.input_size:
            raise ValueError(f"{self.NAME}: expected input of shape {layout} with I={self.input_size}, got {x.shape}")
        if x.dtype != self.weight_ih_l0.dtype:
            raise TypeError(f"{self.NAME}: expected input of dtype {self.weight_ih_l0.dtype} (the weights' dtype), got {x.dtype}")
        if self.batch_first:
            x = x.transpose(0, 1)  # (T, N, I)
        if x.shape[0] == 0:
            raise ValueError(f"{self.NAME}: the input sequence is empty (T = 0)")
        state0 = self._initial_state(hx, x)  # STATES x (num_layers, N, H)
        finals = []
        out = x
        for k in range(self.num_layers):
            if k > 0 and self.dropout > 0.0:
                out = _dropout(out, self.dropout, self.training)  # (T, N, H)
            out, final = self._layer(out, tuple(s[k] for s in state0), k)  # (T, N, H), STATES x (N, H)
            finals.append(final)
        if self.batch_first:
            out = out.transpose(0, 1)  # (N, T, H)
        state = tuple(stack([f[j] for f in finals], axis=0) for j in range(self.STATES))  # each (num_layers, N, H)
        return out, state[0] if self.STATES == 1 else state

    def extra_repr(self) -> str:
        return (f"{self.input_size}, {self.hidden_size}, num_layers={self.num_layers}, bias={self.bias}, "
                f"batch_first={self.batch_first}, dropout={self.dropout}")


class RNN(StackedRecurrent):
    """A multi-layer vanilla RNN over whole sequences, PyTorch's ``nn.RNN``.

    Args (PyTorch's order):
        input_size: I, features per time step.
        hidden_size: H.
        num_layers: stacked layers (default 1); layer l > 0 reads layer l-1's outputs.
        nonlinearity: ``'tanh'`` (default) or ``'relu'``.
        bias: learn the biases (default True).
        batch_first: inputs and outputs are (N, T, *) instead of (T, N, *) (default False).
        dropout: drop probability on the outputs of every layer except the last, in
            training mode (default 0).
    Parameters (all U(-1/sqrt(H), 1/sqrt(H))):
        weight_ih_l{k}: (H, I) for k = 0, (H, H) for k > 0; weight_hh_l{k}: (H, H);
        bias_ih_l{k}, bias_hh_l{k}: (H,).
    Shapes:
        x: (T, N, I), or (N, T, I) with batch_first; hx: optional h0 (num_layers, N, H).
        returns output (T, N, H) (or (N, T, H)) — the last layer's h_t for every t —
        and h_n (num_layers, N, H) — every layer's final state.
    """

    GATES = 1
    NAME = "RNN"

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, nonlinearity: str = "tanh",
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0, device=None, dtype=None):
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, device, dtype)
        self.nonlinearity = _check_nonlinearity(nonlinearity, "RNN")

    def _layer(self, x, state0, k):
        out = rnn_layer(x, state0[0], *self._weights(k), nonlinearity=self.nonlinearity)  # (T, N, H)
        return out, (out[-1],)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", nonlinearity={self.nonlinearity!r}"
