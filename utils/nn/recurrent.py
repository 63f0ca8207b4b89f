"""Long short-term memory: ``LSTMCell`` (one step) and ``LSTM`` (a fused sequence op).

One LSTM step, with PyTorch's gate order i, f, g, o::

    gates = x W_ih^T + b_ih + h W_hh^T + b_hh          (N, 4H) = [i | f | g | o]
    i, f, o = sigmoid(.)    g = tanh(.)
    c' = f * c + i * g
    h' = o * tanh(c')

``LSTMCell`` is written with ordinary Tensor ops (readable, one step). ``LSTM`` runs a
whole sequence as ONE autograd node (``lstm_layer``): one GEMM per step computes all four
gates from [h; x; 1], and the backward (backpropagation through time) is written out on
raw arrays, two GEMMs per step. This keeps a 50-step sequence at one graph node instead
of hundreds. The backward walks back through time in blocks of ``BPTT_BLOCK`` steps,
computing each block's gate derivatives just before it needs them (while they are still
in cache). ``LSTM`` is a ``StackedRecurrent`` like ``RNN`` and ``GRU`` (parameter names,
layouts, stacking, dropout), with the pair (h, c) as its state.
"""
from __future__ import annotations

from ..tensor import Tensor
from .module import Module
from .rnn import StackedRecurrent, recurrent_parameter


BPTT_BLOCK = 8  # time steps whose backward factors are computed together (a block stays in cache)
_uniform = recurrent_parameter  # U(-1/sqrt(H), 1/sqrt(H)), PyTorch's init for every recurrent weight and bias


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

    How it is laid out (the same arithmetic as ``LSTMCell``, arranged for few, contiguous calls):

    * Feature-major: every per-step array is (features, N), so each gate is a contiguous
      (H, N) block. Step t's gates are ONE GEMM, ``W @ z_t`` with ``W = [W_hh | W_ih | b]``
      (4H, K) and ``z_t = [h_t; x_t; 1]`` (K, N), K = H + I (+ 1 with biases): the input
      path and the bias ride along in the same GEMM, and ``dW = sum_t dA_t z_t^T`` (dA_t
      the gradient of step t's gates) gives all the weight and bias gradients at once,
      summed step by step while dA_t is still in cache. (BLAS's own ``gemm`` with beta = 1,
      through SciPy, summed without the add and was 3% faster on one thread, but SciPy's
      OpenBLAS is a second thread pool beside NumPy's: on two threads the two pools fought
      and the layer ran 2.4x slower. Plain ``matmul`` and ``+=`` it is.)
    * Gate rows in the order o, i, f, g (PyTorch's i, f, g, o permuted), with row t of
      the state buffer ``S[t]`` (5H, N) = [o; i; f; g; c_t]: o, i, f are one block for
      the sigmoid, [i; f] times [g; c_t] is one multiply (i * g and f * c), and the
      backward's factors for [i; f; g] are one block.
    * sigmoid(a) = tanh(a / 2) / 2 + 1/2: the o, i, f rows of W are pre-scaled by 1/2
      (exact in floating point), so one tanh per step activates all four gates.
    """
    xp = x.xp
    T, N, I = x.shape
    H = weight_hh.shape[1]
    dt = x.dtype
    K = H + I + (1 if bias_ih is not None else 0)  # rows of z_t = [h; x; 1]
    order = xp.concatenate([xp.arange(3 * H, 4 * H), xp.arange(0, 3 * H)])  # (4H,) PyTorch's rows as o, i, f, g

    W = xp.empty((4 * H, K), dtype=dt)  # (4H, K) = [W_hh | W_ih | b], rows o, i, f, g
    W[:, :H] = weight_hh.data[order]
    W[:, H:H + I] = weight_ih.data[order]
    if bias_ih is not None:
        W[:, H + I] = (bias_ih.data + bias_hh.data)[order]
    row_scale = xp.ones((4 * H, 1), dtype=dt)
    row_scale[:3 * H] = 0.5  # o, i, f: sigmoid(a) = tanh(a / 2) / 2 + 1/2
    W_half = W * row_scale  # (4H, K)

    Z = xp.empty((T + 1, K, N), dtype=dt)  # z_t = [h_t; x_t; 1] feature-major; Z[T, :H] = h_T
    Z[0, :H] = h0.data.T
    Z[:T, H:H + I] = x.data.transpose(0, 2, 1)  # (T, I, N)
    if bias_ih is not None:
        Z[:, H + I] = 1.0
    S = xp.empty((T + 1, 5 * H, N), dtype=dt)  # S[t] = [o; i; f; g] of step t, then c_t; S[T, 4H:] = c_T
    S[0, 4 * H:] = c0.data.T
    tanh_c = xp.empty((T, H, N), dtype=dt)  # tanh(c_1) .. tanh(c_T)
    prod = xp.empty((2 * H, N), dtype=dt)  # [i * g; f * c_t]
    for t in range(T):
        gates = S[t, :4 * H]  # (4H, N)
        xp.matmul(W_half, Z[t], out=gates)
        xp.tanh(gates, out=gates)
        sig = S[t, :3 * H]  # (3H, N) o, i, f
        sig *= 0.5
        sig += 0.5
        xp.multiply(S[t, H:3 * H], S[t, 3 * H:], out=prod)  # [i; f] * [g; c_t]
        c_next = S[t + 1, 4 * H:]  # (H, N)
        xp.add(prod[:H], prod[H:], out=c_next)  # c_{t+1} = i * g + f * c_t
        xp.tanh(c_next, out=tanh_c[t])
        xp.multiply(S[t, :H], tanh_c[t], out=Z[t + 1, :H])  # h_{t+1} = o * tanh(c_{t+1})
    packed = xp.empty((T + 1, N, H), dtype=dt)
    packed[:T] = Z[1:, :H].transpose(0, 2, 1)  # (T, N, H) h_1 .. h_T
    packed[T] = S[T, 4 * H:].T  # (N, H) c_T

    def backward(grad):
        o, i, f, g = (S[:, k * H:(k + 1) * H] for k in range(4))  # (T + 1, H, N) each
        rows = H + I if x.requires_grad else H  # the gradient of z_t = [h_t; x_t; 1] kept: dh (and dx)
        # dZ[t] collects the gradient of z_t: the outside gradient of h_t first, then step t's
        # backward GEMM adds into it, so when the loop reaches step t - 1, dZ[t, :H] is complete.
        dZ = xp.empty((T + 1, rows, N), dtype=dt)  # (T + 1, rows, N)
        dZ[1:, :H] = grad[:T].transpose(0, 2, 1)  # (T, H, N) gradient reaching h_1 .. h_T from outside
        dZ[0, :H] = 0.0
        dZ[:, H:] = 0.0
        W_backT = xp.ascontiguousarray(W[:, :rows].T)  # (rows, 4H)
        need_w = weight_ih.requires_grad or weight_hh.requires_grad or (bias_ih is not None and (bias_ih.requires_grad or bias_hh.requires_grad))
        dW = xp.zeros((4 * H, K), dtype=dt) if need_w else None  # sum over steps of dA_t z_t^T, rows o, i, f, g
        dA = xp.empty((4 * H, N), dtype=dt)  # gradient of step t's pre-activation gates, rows o, i, f, g
        dz = xp.empty((rows, N), dtype=dt)  # step t's contribution to the gradient of z_t
        dW_t = xp.empty((4 * H, K), dtype=dt) if need_w else None  # step t's contribution to dW
        dc = xp.empty((H, N), dtype=dt)
        dc_next = xp.array(grad[T].T, dtype=dt, order="C")  # (H, N) gradient of c_{t+1}
        # The factors that do not depend on the incoming gradient are computed for a block of
        # BPTT_BLOCK steps at a time, just before the loop walks back through them, so that
        # they are still in cache when it reads them.
        B = min(T, BPTT_BLOCK)
        coef = xp.empty((B, 3 * H, N), dtype=dt)  # d a_{i,f,g} = dc * coef
        dc_from_dh = xp.empty((B, H, N), dtype=dt)  # dc = dh * this + dc_next
        da_o = xp.empty((B, H, N), dtype=dt)  # d a_o = dh * this
        slope = xp.empty((B, 3 * H, N), dtype=dt)  # s * (1 - s) for o, i, f
        for end in range(T, 0, -B):
            lo = max(0, end - B)
            n, s = end - lo, slice(lo, end)
            sd, c_ifg, d_c, d_o = slope[:n], coef[:n], dc_from_dh[:n], da_o[:n]
            xp.subtract(1.0, S[s, :3 * H], out=sd)
            sd *= S[s, :3 * H]  # s * (1 - s) for o, i, f
            xp.multiply(S[s, 3 * H:], sd[:, H:], out=c_ifg[:, :2 * H])  # [g * i(1 - i); c_t * f(1 - f)]
            c_g = c_ifg[:, 2 * H:]
            xp.multiply(g[s], g[s], out=c_g)
            xp.subtract(1.0, c_g, out=c_g)
            c_g *= i[s]  # i * (1 - g^2)
            xp.multiply(tanh_c[s], tanh_c[s], out=d_c)
            xp.subtract(1.0, d_c, out=d_c)
            d_c *= o[s]  # o * (1 - tanh(c)^2)
            xp.multiply(tanh_c[s], sd[:, :H], out=d_o)  # tanh(c) * o(1 - o)
            for t in range(end - 1, lo - 1, -1):
                j = t - lo
                dh = dZ[t + 1, :H]  # (H, N) complete gradient of h_{t+1}
                xp.multiply(dh, d_c[j], out=dc)
                dc += dc_next  # gradient of c_{t+1}
                xp.multiply(c_ifg[j].reshape(3, H, N), dc, out=dA[H:].reshape(3, H, N))  # d a_i, d a_f, d a_g
                xp.multiply(dh, d_o[j], out=dA[:H])  # d a_o
                dZ[t] += xp.matmul(W_backT, dA, out=dz)  # (rows, 4H) @ (4H, N): into dh_t (and dx_t)
                xp.multiply(dc, f[t], out=dc_next)  # gradient of c_t
                if need_w:
                    dW += xp.matmul(dA, Z[t].T, out=dW_t)  # (4H, N) @ (N, K)
        gx = gWih = gWhh = gb = None
        if x.requires_grad:
            gx = dZ[:T, H:].transpose(0, 2, 1)  # (T, N, I)
        if need_w:
            dW = dW[xp.argsort(order)]  # (4H, K) rows back to PyTorch's i, f, g, o
            gWhh, gWih = dW[:, :H], dW[:, H:H + I]  # (4H, H), (4H, I)
            gb = dW[:, H + I] if bias_ih is not None else None  # (4H,)
        return gx, dZ[0, :H].T, dc_next.T, gWih, gWhh, gb, gb

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
