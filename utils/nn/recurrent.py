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
node instead of hundreds. The backward walks back through time in blocks of
``BPTT_BLOCK`` steps, computing each block's gate derivatives just before it needs them
(while they are still in cache) and adding the weight gradients of all steps with one
GEMM each at the end. ``LSTM`` is a ``StackedRecurrent`` like ``RNN`` and ``GRU``
(parameter names, layouts, stacking, dropout), with the pair (h, c) as its state.
"""
from __future__ import annotations

from ..backend import get_array_module
from ..tensor import Tensor
from .module import Module
from .rnn import StackedRecurrent, recurrent_parameter


BPTT_BLOCK = 8  # time steps whose backward factors are computed together (a block stays in cache)
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

    ``LSTMCell`` is the readable per-step twin: the tests check both against a NumPy loop
    and PyTorch and gradcheck both.

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
    # the i, f, o columns are pre-scaled by 1/2 (exact in floating point: the products are
    # the same numbers as scaling afterwards) and mapped back with a multiply-add.
    half = xp.full((4, H), 0.5, dtype=dt)
    half[2] = 1.0
    col_scale = half.reshape(4 * H)  # (4H,) 0.5 for i, f, o; 1 for g
    col_shift = col_scale.copy()
    col_shift[2 * H:3 * H] = 0.0  # (4H,) 0.5 for i, f, o; 0 for g
    WhhT = Whh.T * col_scale  # (H, 4H)

    x2 = x.data.reshape(T * N, I)  # (T*N, I)
    pre = x2 @ (Wih * col_scale[:, None]).T  # (T*N, 4H): every time step's (pre-scaled) input projection in one GEMM
    if bias_ih is not None:
        pre += (bias_ih.data + bias_hh.data) * col_scale
    pre = pre.reshape(T, N, 4 * H)  # (T, N, 4H)

    acts = xp.empty((T, N, 4 * H), dtype=dt)  # activated gates [i | f | g | o] per step
    hbuf = xp.empty((T + 2, N, H), dtype=dt)  # h_0 .. h_T, then c_T: hbuf[1:] is the packed output, no copy
    hs = hbuf[:T + 1]  # h_0 .. h_T
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
    hbuf[T + 1] = cs[T]
    packed = hbuf[1:]  # (T + 1, N, H)

    def backward(grad):
        a4 = acts.reshape(T, N, 4, H)
        i, f, g, o = a4[:, :, 0], a4[:, :, 1], a4[:, :, 2], a4[:, :, 3]  # (T, N, H) each
        g_h = grad[:T]  # (T, N, H) gradient reaching each h_t from outside
        dA = xp.empty((T, N, 4 * H), dtype=dt)  # gradient of the pre-activation gates
        dA4 = dA.reshape(T, N, 4, H)
        # The factors that do not depend on the incoming gradient are computed for a block of
        # BPTT_BLOCK steps at a time, just before the loop walks back through them, so that
        # they are still in cache when it reads them.
        B = min(T, BPTT_BLOCK)
        coef = xp.empty((B, N, 3, H), dtype=dt)  # d a_{i,f,g} = dc * coef
        dc_from_dh = xp.empty((B, N, H), dtype=dt)  # dc = dh * this + dc_next
        da_o = xp.empty((B, N, H), dtype=dt)  # d a_o = dh * this
        scratch = xp.empty((B, N, H), dtype=dt)
        dh, dc = xp.empty((N, H), dtype=dt), xp.empty((N, H), dtype=dt)
        dh_next = xp.zeros((N, H), dtype=dt)
        dc_next = grad[T].copy()  # (N, H)
        for end in range(T, 0, -B):
            lo = max(0, end - B)
            n, s = end - lo, slice(lo, end)
            # Each factor written into its buffer in place: the same products, in the same order, as the comments.
            c_i, c_f, c_g, d_c, d_o, tmp = coef[:n, :, 0], coef[:n, :, 1], coef[:n, :, 2], dc_from_dh[:n], da_o[:n], scratch[:n]
            xp.multiply(g[s], i[s], out=c_i)
            c_i *= xp.subtract(1.0, i[s], out=tmp)  # g * i * (1 - i)
            xp.multiply(cs[s], f[s], out=c_f)
            c_f *= xp.subtract(1.0, f[s], out=tmp)  # c_{t-1} * f * (1 - f)
            xp.multiply(g[s], g[s], out=c_g)
            xp.subtract(1.0, c_g, out=c_g)
            c_g *= i[s]  # i * (1 - g^2)
            xp.multiply(tanh_c[s], tanh_c[s], out=d_c)
            xp.subtract(1.0, d_c, out=d_c)
            d_c *= o[s]  # o * (1 - tanh(c)^2)
            xp.multiply(tanh_c[s], o[s], out=d_o)
            d_o *= xp.subtract(1.0, o[s], out=tmp)  # tanh(c) * o * (1 - o)
            for t in range(end - 1, lo - 1, -1):
                j = t - lo
                xp.add(g_h[t], dh_next, out=dh)  # (N, H)
                xp.multiply(dh, d_c[j], out=dc)
                dc += dc_next
                xp.multiply(coef[j], dc[:, None, :], out=dA4[t, :, :3])  # d a_i, d a_f, d a_g
                xp.multiply(dh, d_o[j], out=dA4[t, :, 3])  # d a_o
                xp.matmul(dA[t], Whh, out=dh_next)  # (N, H)
                xp.multiply(dc, f[t], out=dc_next)
        dA2 = dA.reshape(T * N, 4 * H)  # (T*N, 4H)
        # The weight gradients of all time steps: one GEMM each, over T*N rows.
        gx = (dA2 @ Wih).reshape(T, N, I) if x.requires_grad else None  # (T, N, I)
        gWih = dA2.T @ x2 if weight_ih.requires_grad else None  # (4H, I)
        gWhh = dA2.T @ hs[:T].reshape(T * N, H) if weight_hh.requires_grad else None  # (4H, H)
        gb = dA2.sum(axis=0) if bias_ih is not None else None  # (4H,)
        return gx, dh_next, dc_next, gWih, gWhh, gb, gb

    parents = (x, h0, c0, weight_ih, weight_hh)
    if bias_ih is not None:
        parents += (bias_ih, bias_hh)
    return Tensor._make(packed, parents, backward, "lstm_layer")


class LSTM(StackedRecurrent):
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

    GATES = 4
    STATES = 2
    NAME = "LSTM"

    def _layer(self, x, state0, k):
        T = x.shape[0]
        packed = lstm_layer(x, *state0, *self._weights(k))  # (T + 1, N, H)
        return packed[:T], (packed[T - 1], packed[T])  # (T, N, H), ((N, H), (N, H))
