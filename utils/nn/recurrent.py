"""Long short-term memory: ``LSTMCell`` (one step) and ``LSTM`` (a fused sequence op).

One LSTM step, with PyTorch's gate order i, f, g, o::

    gates = x W_ih^T + b_ih + h W_hh^T + b_hh          (N, 4H) = [i | f | g | o]
    i, f, o = sigmoid(.)    g = tanh(.)
    c' = f * c + i * g
    h' = o * tanh(c')

``LSTMCell`` is written with ordinary Tensor ops (readable, one step). ``LSTM`` runs a
whole sequence as ONE autograd node: the input projections of all time steps are one
GEMM, each step adds one GEMM for the hidden path, and the backward (backpropagation
through time) is written out on raw arrays. This keeps a 50-step sequence at one graph
node instead of hundreds.
"""
from __future__ import annotations

from ..backend import get_array_module
from ..tensor import Tensor, stack
from .dropout import dropout as _dropout
from .module import Module
from .rnn import recurrent_parameter


_uniform = recurrent_parameter  # U(-1/sqrt(H), 1/sqrt(H)), PyTorch's init for every recurrent weight and bias


def _sigmoid(x):
    """Logistic sigmoid via tanh: stable for any x and one fused ufunc call."""
    return 0.5 * (get_array_module(x).tanh(0.5 * x) + 1.0)


class LSTMCell(Module):
    """One LSTM step, PyTorch's ``nn.LSTMCell``.

    Args:
        input_size: I, features per input vector.
        hidden_size: H, features of the hidden and cell state.
        bias: learn ``bias_ih`` and ``bias_hh`` (default True).
    Parameters (all drawn from U(-1/sqrt(H), 1/sqrt(H))):
        weight_ih: (4H, I), rows in gate order i, f, g, o.
        weight_hh: (4H, H).
        bias_ih, bias_hh: (4H,).
    Shapes:
        x: (N, I); hx: optional (h, c), each (N, H), zeros when None.
        returns (h', c'), each (N, H).
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None):
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        H = hidden_size
        self.weight_ih = _uniform((4 * H, input_size), H, dtype, device)
        self.weight_hh = _uniform((4 * H, H), H, dtype, device)
        self.bias_ih = _uniform((4 * H,), H, dtype, device) if bias else None
        self.bias_hh = _uniform((4 * H,), H, dtype, device) if bias else None

    def forward(self, x, hx=None):
        x = self._input(x)
        H = self.hidden_size
        if x.ndim != 2 or x.shape[1] != self.input_size:
            raise ValueError(f"LSTMCell: expected input of shape (N, {self.input_size}), got {x.shape}")
        if x.dtype != self.weight_ih.dtype:
            raise TypeError(f"LSTMCell: expected input of dtype {self.weight_ih.dtype} (the weights' dtype), got {x.dtype}")
        N = x.shape[0]
        if hx is None:
            zeros = x.xp.zeros((N, H), dtype=x.dtype)
            h, c = Tensor._make(zeros), Tensor._make(zeros)
        else:
            h, c = self._input(hx[0]), self._input(hx[1])
            if h.shape != (N, H) or c.shape != (N, H):
                raise ValueError(f"LSTMCell: expected h and c of shape (N, H) = {(N, H)}, got {h.shape} and {c.shape}")
        gates = x @ self.weight_ih.T + h @ self.weight_hh.T  # (N, 4H)
        if self.bias_ih is not None:
            gates = gates + self.bias_ih + self.bias_hh
        i = gates[:, 0:H].sigmoid()  # (N, H) input gate
        f = gates[:, H:2 * H].sigmoid()  # (N, H) forget gate
        g = gates[:, 2 * H:3 * H].tanh()  # (N, H) candidate cell
        o = gates[:, 3 * H:4 * H].sigmoid()  # (N, H) output gate
        c_next = f * c + i * g  # (N, H)
        h_next = o * c_next.tanh()  # (N, H)
        return h_next, c_next

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, bias={self.bias_ih is not None}"


def lstm_layer(x: Tensor, h0: Tensor, c0: Tensor, weight_ih: Tensor, weight_hh: Tensor, bias_ih=None, bias_hh=None) -> Tensor:
    """Run one LSTM layer over a whole sequence as a single fused autograd op.

    Args:
        x: (T, N, I) time-major input.
        h0, c0: (N, H) initial hidden and cell state.
        weight_ih: (4H, I); weight_hh: (4H, H); bias_ih, bias_hh: (4H,) or None.
    Returns:
        packed: (T + 1, N, H) — rows 0..T-1 are the hidden states h_1..h_T and row T is
        the final cell state c_T. Slice it (``packed[:T]``, ``packed[T]``); each slice's
        backward scatters into this op's gradient, so one backward does the whole BPTT.
    """
    xp = x.xp
    T, N, I = x.shape
    H = weight_hh.shape[1]
    dt = x.dtype
    Wih, Whh = weight_ih.data, weight_hh.data

    # sigmoid(a) = 0.5 * tanh(a / 2) + 0.5, so ONE tanh per step activates all four gates:
    # the i, f, o columns are pre-scaled by 1/2 and mapped back with a multiply-add.
    half = xp.full((4, H), 0.5, dtype=dt)
    half[2] = 1.0
    col_scale = half.reshape(4 * H)  # (4H,) 0.5 for i, f, o; 1 for g
    col_shift = col_scale.copy()
    col_shift[2 * H:3 * H] = 0.0  # (4H,) 0.5 for i, f, o; 0 for g
    WhhT = Whh.T * col_scale  # (H, 4H)

    x2 = x.data.reshape(T * N, I)  # (T*N, I)
    pre = x2 @ Wih.T  # (T*N, 4H): every time step's input projection in one GEMM
    if bias_ih is not None:
        pre += bias_ih.data + bias_hh.data
    pre = (pre * col_scale).reshape(T, N, 4 * H)  # (T, N, 4H)

    acts = xp.empty((T, N, 4 * H), dtype=dt)  # activated gates [i | f | g | o] per step
    hs = xp.empty((T + 1, N, H), dtype=dt)  # h_0 .. h_T
    cs = xp.empty((T + 1, N, H), dtype=dt)  # c_0 .. c_T
    tanh_c = xp.empty((T, N, H), dtype=dt)  # tanh(c_1) .. tanh(c_T)
    ig = xp.empty((N, H), dtype=dt)
    hs[0], cs[0] = h0.data, c0.data
    for t in range(T):
        gates = acts[t]  # (N, 4H)
        xp.matmul(hs[t], WhhT, out=gates)
        gates += pre[t]
        xp.tanh(gates, out=gates)
        gates *= col_scale
        gates += col_shift  # sigmoid for i, f, o; tanh for g
        i, f, g, o = gates[:, :H], gates[:, H:2 * H], gates[:, 2 * H:3 * H], gates[:, 3 * H:]
        xp.multiply(f, cs[t], out=cs[t + 1])
        xp.multiply(i, g, out=ig)
        cs[t + 1] += ig  # c_t = f * c_{t-1} + i * g
        xp.tanh(cs[t + 1], out=tanh_c[t])
        xp.multiply(o, tanh_c[t], out=hs[t + 1])  # h_t = o * tanh(c_t)

    packed = xp.concatenate([hs[1:], cs[T:]], axis=0)  # (T + 1, N, H)

    def backward(grad):
        # Every factor that does not depend on the incoming gradient, for all steps at once.
        a4 = acts.reshape(T, N, 4, H)
        i, f, g, o = a4[:, :, 0], a4[:, :, 1], a4[:, :, 2], a4[:, :, 3]  # (T, N, H) each
        coef = xp.empty((T, N, 3, H), dtype=dt)  # d a_{i,f,g} = dc * coef
        coef[:, :, 0] = g * i * (1.0 - i)
        coef[:, :, 1] = cs[:T] * f * (1.0 - f)
        coef[:, :, 2] = i * (1.0 - g * g)
        dc_from_dh = o * (1.0 - tanh_c * tanh_c)  # (T, N, H): dc = dh * this + dc_next
        da_o = tanh_c * o * (1.0 - o)  # (T, N, H): d a_o = dh * this

        g_h = grad[:T]  # (T, N, H) gradient reaching each h_t from outside
        dA = xp.empty((T, N, 4 * H), dtype=dt)  # gradient of the pre-activation gates
        dA4 = dA.reshape(T, N, 4, H)
        dh_next = xp.zeros((N, H), dtype=dt)
        dc_next = grad[T].copy()  # (N, H)
        for t in range(T - 1, -1, -1):
            dh = g_h[t] + dh_next  # (N, H)
            dc = dh * dc_from_dh[t]
            dc += dc_next
            xp.multiply(coef[t], dc[:, None, :], out=dA4[t, :, :3])  # d a_i, d a_f, d a_g
            xp.multiply(dh, da_o[t], out=dA4[t, :, 3])  # d a_o
            dh_next = dA[t] @ Whh  # (N, H)
            dc_next = dc * f[t]
        dA2 = dA.reshape(T * N, 4 * H)  # (T*N, 4H)
        gx = (dA2 @ Wih).reshape(T, N, I) if x.requires_grad else None  # (T, N, I)
        gWih = dA2.T @ x2 if weight_ih.requires_grad else None  # (4H, I)
        gWhh = dA2.T @ hs[:T].reshape(T * N, H) if weight_hh.requires_grad else None  # (4H, H)
        gb = dA2.sum(axis=0) if bias_ih is not None else None  # (4H,)
        return gx, dh_next, dc_next, gWih, gWhh, gb, gb

    parents = (x, h0, c0, weight_ih, weight_hh)
    if bias_ih is not None:
        parents += (bias_ih, bias_hh)
    return Tensor._make(packed, parents, backward, "lstm_layer")


class LSTM(Module):
    """A multi-layer LSTM over whole sequences, PyTorch's ``nn.LSTM``.

    Args:
        input_size: I, features per time step.
        hidden_size: H.
        num_layers: stacked layers (default 1); layer l > 0 reads layer l-1's outputs.
        bias: learn the biases (default True).
        batch_first: inputs and outputs are (N, T, *) instead of (T, N, *) (default False).
        dropout: drop probability on the outputs of every layer except the last, in
            training mode (default 0).
    Parameters (all U(-1/sqrt(H), 1/sqrt(H)), gate rows ordered i, f, g, o):
        weight_ih_l{k}: (4H, I) for k = 0, (4H, H) for k > 0.
        weight_hh_l{k}: (4H, H).
        bias_ih_l{k}, bias_hh_l{k}: (4H,).
    Shapes:
        x: (T, N, I), or (N, T, I) with batch_first.
        hx: optional (h0, c0), each (num_layers, N, H); zeros when None.
        returns output (T, N, H) (or (N, T, H)) — the last layer's h_t for every t —
        and (h_n, c_n), each (num_layers, N, H) — every layer's final state.
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, device=None, dtype=None):
        super().__init__()
        if num_layers < 1:
            raise ValueError(f"LSTM: num_layers must be at least 1, got {num_layers}")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"LSTM: dropout must be in [0, 1), got {dropout}")
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bias = bias
        self.batch_first = batch_first
        self.dropout = float(dropout)
        H = hidden_size
        for k in range(num_layers):
            in_k = input_size if k == 0 else H
            setattr(self, f"weight_ih_l{k}", _uniform((4 * H, in_k), H, dtype, device))
            setattr(self, f"weight_hh_l{k}", _uniform((4 * H, H), H, dtype, device))
            if bias:
                setattr(self, f"bias_ih_l{k}", _uniform((4 * H,), H, dtype, device))
                setattr(self, f"bias_hh_l{k}", _uniform((4 * H,), H, dtype, device))

    def forward(self, x, hx=None):
        x = self._input(x)
        H, layers = self.hidden_size, self.num_layers
        layout = "(N, T, I)" if self.batch_first else "(T, N, I)"
        if x.ndim != 3 or x.shape[-1] != self.input_size:
            raise ValueError(f"LSTM: expected input of shape {layout} with I={self.input_size}, got {x.shape}")
        if x.dtype != self.weight_ih_l0.dtype:
            raise TypeError(f"LSTM: expected input of dtype {self.weight_ih_l0.dtype} (the weights' dtype), got {x.dtype}")
        if self.batch_first:
            x = x.transpose(0, 1)  # (T, N, I)
        T, N, _ = x.shape
        if T == 0:
            raise ValueError("LSTM: the input sequence is empty (T = 0)")
        if hx is None:
            zeros = x.xp.zeros((layers, N, H), dtype=x.dtype)
            h0, c0 = Tensor._make(zeros), Tensor._make(zeros)
        else:
            h0, c0 = self._input(hx[0]), self._input(hx[1])
            if h0.shape != (layers, N, H) or c0.shape != (layers, N, H):
                raise ValueError(f"LSTM: expected h0 and c0 of shape (num_layers, N, H) = {(layers, N, H)}, got {h0.shape} and {c0.shape}")

        h_n, c_n = [], []
        out = x
        for k in range(layers):
            if k > 0 and self.dropout > 0.0:
                out = _dropout(out, self.dropout, self.training)  # (T, N, H)
            packed = lstm_layer(out, h0[k], c0[k], getattr(self, f"weight_ih_l{k}"), getattr(self, f"weight_hh_l{k}"),
                                getattr(self, f"bias_ih_l{k}") if self.bias else None,
                                getattr(self, f"bias_hh_l{k}") if self.bias else None)  # (T + 1, N, H)
            out = packed[:T]  # (T, N, H)
            h_n.append(packed[T - 1])  # (N, H)
            c_n.append(packed[T])  # (N, H)
        if self.batch_first:
            out = out.transpose(0, 1)  # (N, T, H)
        return out, (stack(h_n, axis=0), stack(c_n, axis=0))  # (num_layers, N, H) each

    def extra_repr(self) -> str:
        return (f"{self.input_size}, {self.hidden_size}, num_layers={self.num_layers}, bias={self.bias}, "
                f"batch_first={self.batch_first}, dropout={self.dropout}")
