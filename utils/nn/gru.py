"""Gated recurrent unit: ``GRUCell`` (one step) and ``GRU`` (whole sequences).

One step, PyTorch's ``nn.GRUCell`` with its gate order r, z, n::

    gi = x W_ih^T + b_ih,   gh = h W_hh^T + b_hh        (N, 3H) = [r | z | n]
    r = sigmoid(gi_r + gh_r)                            reset gate
    z = sigmoid(gi_z + gh_z)                            update gate
    n = tanh(gi_n + r * gh_n)                           candidate (r scales W_hn h + b_hn)
    h' = (1 - z) * n + z * h

``GRUCell`` is written with ordinary Tensor ops (readable, one step). ``GRU`` runs each
layer over the whole sequence as ONE autograd node (``gru_layer``) with the backward
through time written out on raw arrays; both are checked against finite differences in
float64, against each other, and against PyTorch where it is installed.
"""
from __future__ import annotations

from ..backend import get_array_module
from ..tensor import Tensor
from .module import Module
from .rnn import StackedRecurrent, _cell_inputs, recurrent_parameter


def _sigmoid_(a):
    """Logistic sigmoid of ``a`` in place, as 0.5 * tanh(a / 2) + 0.5 (stable for any a)."""
    xp = get_array_module(a)
    a *= 0.5
    xp.tanh(a, out=a)
    a *= 0.5
    a += 0.5
    return a


class GRUCell(Module):
    """One GRU step, PyTorch's ``nn.GRUCell``.

    Args:
        input_size: I, features per input vector.
        hidden_size: H, features of the hidden state.
        bias: learn ``bias_ih`` and ``bias_hh`` (default True).
    Parameters (all drawn from U(-1/sqrt(H), 1/sqrt(H))):
        weight_ih: (3H, I), rows in gate order r, z, n.
        weight_hh: (3H, H).
        bias_ih, bias_hh: (3H,).
    Shapes:
        x: (N, I) or (I,); hx: optional (N, H) or (H,), zeros when None.
        returns h': (N, H) (or (H,) for an unbatched input).
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, device=None, dtype=None):
        super().__init__()
        self.input_size = input_size
        self.hidden_size = hidden_size
        H = hidden_size
        self.weight_ih = recurrent_parameter((3 * H, input_size), H, dtype, device)
        self.weight_hh = recurrent_parameter((3 * H, H), H, dtype, device)
        self.bias_ih = recurrent_parameter((3 * H,), H, dtype, device) if bias else None
        self.bias_hh = recurrent_parameter((3 * H,), H, dtype, device) if bias else None

    def forward(self, x, hx=None) -> Tensor:
        x, h, unbatched = _cell_inputs(self, x, hx, "GRUCell")
        H = self.hidden_size
        gi = x @ self.weight_ih.T  # (N, 3H)
        gh = h @ self.weight_hh.T  # (N, 3H)
        if self.bias_ih is not None:
            gi = gi + self.bias_ih
            gh = gh + self.bias_hh
        r = (gi[:, :H] + gh[:, :H]).sigmoid()  # (N, H) reset gate
        z = (gi[:, H:2 * H] + gh[:, H:2 * H]).sigmoid()  # (N, H) update gate
        n = (gi[:, 2 * H:] + r * gh[:, 2 * H:]).tanh()  # (N, H) candidate
        h_next = (1.0 - z) * n + z * h  # (N, H)
        return h_next.reshape(-1) if unbatched else h_next

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, bias={self.bias_ih is not None}"


def gru_layer(x: Tensor, h0: Tensor, weight_ih: Tensor, weight_hh: Tensor, bias_ih=None, bias_hh=None) -> Tensor:
    """Run one GRU layer over a whole sequence as a single fused autograd op.

    Args:
        x: (T, N, I) time-major input.
        h0: (N, H) initial hidden state.
        weight_ih: (3H, I); weight_hh: (3H, H); bias_ih, bias_hh: (3H,) or None.
    Returns:
        (T, N, H): the hidden states h_1 .. h_T.
    """
    xp = x.xp
    T, N, I = x.shape
    H = weight_hh.shape[1]
    dt = x.dtype
    Wih, Whh = weight_ih.data, weight_hh.data
    x2 = x.data.reshape(T * N, I)  # (T*N, I)
    gi = x2 @ Wih.T  # (T*N, 3H): every step's input projection in one GEMM
    if bias_ih is not None:
        gi += bias_ih.data
    gi = gi.reshape(T, N, 3 * H)
    WhhT = Whh.T  # (H, 3H)
    bhh = None if bias_hh is None else bias_hh.data

    hs = xp.empty((T + 1, N, H), dtype=dt)  # h_0 .. h_T
    rz = xp.empty((T, N, 2 * H), dtype=dt)  # [r | z] per step
    ns = xp.empty((T, N, H), dtype=dt)  # candidates n_t
    hn = xp.empty((T, N, H), dtype=dt)  # W_hn h_{t-1} + b_hn, the part r scales
    gh = xp.empty((N, 3 * H), dtype=dt)
    hs[0] = h0.data
    for t in range(T):
        xp.matmul(hs[t], WhhT, out=gh)  # (N, 3H)
        if bhh is not None:
            gh += bhh
        xp.add(gi[t, :, :2 * H], gh[:, :2 * H], out=rz[t])
        _sigmoid_(rz[t])
        r, z = rz[t, :, :H], rz[t, :, H:]
        hn[t] = gh[:, 2 * H:]
        n = ns[t]
        xp.multiply(r, hn[t], out=n)
        n += gi[t, :, 2 * H:]
        xp.tanh(n, out=n)
        xp.subtract(hs[t], n, out=hs[t + 1])
        hs[t + 1] *= z
        hs[t + 1] += n  # h_t = n + z * (h_{t-1} - n) = (1 - z) * n + z * h_{t-1}

    def backward(grad):
        # Every factor that does not depend on the incoming gradient, for all steps at once.
        r, z = rz[..., :H], rz[..., H:]  # (T, N, H) each
        c_n = (1.0 - z) * (1.0 - ns * ns)  # d a_n = dh * c_n
        c_r = hn * r * (1.0 - r)  # d a_r = d a_n * c_r
        c_z = (hs[:T] - ns) * z * (1.0 - z)  # d a_z = dh * c_z
        dGi = xp.empty((T, N, 3 * H), dtype=dt)  # gradient of gi (the input-side pre-activations)
        dGh = xp.empty((T, N, 3 * H), dtype=dt)  # gradient of gh (the hidden-side pre-activations)
        dh = xp.zeros((N, H), dtype=dt)
        for t in range(T - 1, -1, -1):
            dh += grad[t]  # (N, H) everything that reaches h_t
            da_n = dGi[t, :, 2 * H:]
            xp.multiply(dh, c_n[t], out=da_n)
            xp.multiply(da_n, c_r[t], out=dGi[t, :, :H])
            xp.multiply(dh, c_z[t], out=dGi[t, :, H:2 * H])
            dGh[t, :, :2 * H] = dGi[t, :, :2 * H]
            xp.multiply(da_n, r[t], out=dGh[t, :, 2 * H:])
            dh = dh * z[t] + dGh[t] @ Whh  # (N, H) gradient reaching h_{t-1}
        dGi2 = dGi.reshape(T * N, 3 * H)
        dGh2 = dGh.reshape(T * N, 3 * H)
        gx = (dGi2 @ Wih).reshape(T, N, I) if x.requires_grad else None  # (T, N, I)
        gWih = dGi2.T @ x2 if weight_ih.requires_grad else None  # (3H, I)
        gWhh = dGh2.T @ hs[:T].reshape(T * N, H) if weight_hh.requires_grad else None  # (3H, H)
        gbih = dGi2.sum(axis=0) if bias_ih is not None else None  # (3H,)
        gbhh = dGh2.sum(axis=0) if bias_hh is not None else None  # (3H,)
        return gx, dh, gWih, gWhh, gbih, gbhh

    parents = (x, h0, weight_ih, weight_hh)
    if bias_ih is not None:
        parents += (bias_ih, bias_hh)
    return Tensor._make(hs[1:], parents, backward, "gru_layer")


class GRU(StackedRecurrent):
    """A multi-layer GRU over whole sequences, PyTorch's ``nn.GRU``.

    Args:
        input_size: I, features per time step.
        hidden_size: H.
        num_layers: stacked layers (default 1); layer l > 0 reads layer l-1's outputs.
        bias: learn the biases (default True).
        batch_first: inputs and outputs are (N, T, *) instead of (T, N, *) (default False).
        dropout: drop probability on the outputs of every layer except the last, in
            training mode (default 0).
    Parameters (all U(-1/sqrt(H), 1/sqrt(H)), gate rows ordered r, z, n):
        weight_ih_l{k}: (3H, I) for k = 0, (3H, H) for k > 0; weight_hh_l{k}: (3H, H);
        bias_ih_l{k}, bias_hh_l{k}: (3H,).
    Shapes:
        x: (T, N, I), or (N, T, I) with batch_first; hx: optional h0 (num_layers, N, H).
        returns output (T, N, H) (or (N, T, H)) — the last layer's h_t for every t —
        and h_n (num_layers, N, H) — every layer's final state.
    """

    GATES = 3
    NAME = "GRU"

    def _layer(self, x, state0, k):
        out = gru_layer(x, state0[0], *self._weights(k))  # (T, N, H)
        return out, (out[-1],)
