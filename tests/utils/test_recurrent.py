"""LSTMCell and the fused LSTM: gradients, a per-step NumPy reference, PyTorch parity."""
import numpy as np
import pytest

from utils import Tensor, gradcheck
from utils.nn import LSTM, LSTMCell

F64 = np.float64


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def numpy_lstm_step(x, h, c, w_ih, w_hh, b_ih, b_hh):
    """One step written out independently, gate order i, f, g, o."""
    H = h.shape[1]
    a = x @ w_ih.T + b_ih + h @ w_hh.T + b_hh
    i, f, g, o = sigmoid(a[:, :H]), sigmoid(a[:, H:2 * H]), np.tanh(a[:, 2 * H:3 * H]), sigmoid(a[:, 3 * H:])
    c = f * c + i * g
    return o * np.tanh(c), c


def numpy_lstm(x, h0, c0, params, num_layers):
    """An explicit per-layer, per-step loop over a (T, N, I) input."""
    out = x
    hs, cs = [], []
    for k in range(num_layers):
        h, c = h0[k], c0[k]
        steps = []
        for t in range(out.shape[0]):
            h, c = numpy_lstm_step(out[t], h, c, *(params[f"{n}_l{k}"] for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")))
            steps.append(h)
        out = np.stack(steps)
        hs.append(h)
        cs.append(c)
    return out, np.stack(hs), np.stack(cs)


def t64(a, grad=False):
    return Tensor(np.array(a, dtype=F64), requires_grad=grad, dtype=F64)


def test_lstm_parameter_names_shapes_and_init():
    np.random.seed(0)
    m = LSTM(3, 5, num_layers=2)
    shapes = {n: p.shape for n, p in m.named_parameters()}
    assert list(shapes) == ["weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0",
                            "weight_ih_l1", "weight_hh_l1", "bias_ih_l1", "bias_hh_l1"]
    assert shapes["weight_ih_l0"] == (20, 3) and shapes["weight_hh_l0"] == (20, 5)
    assert shapes["weight_ih_l1"] == (20, 5) and shapes["bias_hh_l1"] == (20,)
    bound = 1 / np.sqrt(5)
    for p in m.parameters():
        assert np.abs(p.data).max() <= bound
    assert [n for n, _ in LSTM(3, 5, bias=False).named_parameters()] == ["weight_ih_l0", "weight_hh_l0"]
    cell = LSTMCell(3, 5)
    assert [(n, p.shape) for n, p in cell.named_parameters()] == [
        ("weight_ih", (20, 3)), ("weight_hh", (20, 5)), ("bias_ih", (20,)), ("bias_hh", (20,))]


def test_lstm_cell_matches_numpy_step(rng):
    cell = LSTMCell(3, 4).double()
    x, h, c = rng.standard_normal((2, 3)), rng.standard_normal((2, 4)), rng.standard_normal((2, 4))
    h1, c1 = cell(x, (h, c))
    p = {n: v.data for n, v in cell.named_parameters()}
    eh, ec = numpy_lstm_step(x, h, c, p["weight_ih"], p["weight_hh"], p["bias_ih"], p["bias_hh"])
    np.testing.assert_allclose(h1.data, eh, rtol=1e-12)
    np.testing.assert_allclose(c1.data, ec, rtol=1e-12)
    h0, c0 = cell(x)  # zero state by default
    eh0, _ = numpy_lstm_step(x, np.zeros((2, 4)), np.zeros((2, 4)), p["weight_ih"], p["weight_hh"], p["bias_ih"], p["bias_hh"])
    np.testing.assert_allclose(h0.data, eh0, rtol=1e-12)


def test_lstm_cell_gradcheck(rng):
    cell = LSTMCell(3, 2).double()
    x, h, c = t64(rng.standard_normal((2, 3)), True), t64(rng.standard_normal((2, 2)), True), t64(rng.standard_normal((2, 2)), True)

    def fn(*_):
        h1, c1 = cell(x, (h, c))
        return h1 * 2.0 + c1

    gradcheck(fn, x, h, c, *cell.parameters())


@pytest.mark.parametrize("num_layers,batch_first", [(1, False), (2, True)])
def test_lstm_forward_matches_per_step_loop(rng, num_layers, batch_first):
    m = LSTM(3, 4, num_layers=num_layers, batch_first=batch_first).double()
    T, N = 5, 2
    x = rng.standard_normal((T, N, 3))
    h0, c0 = rng.standard_normal((num_layers, N, 4)), rng.standard_normal((num_layers, N, 4))
    out, (h_n, c_n) = m(x.transpose(1, 0, 2) if batch_first else x, (h0, c0))
    params = {n: p.data for n, p in m.named_parameters()}
    e_out, e_h, e_c = numpy_lstm(x, h0, c0, params, num_layers)
    got = out.data.transpose(1, 0, 2) if batch_first else out.data
    np.testing.assert_allclose(got, e_out, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(h_n.data, e_h, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(c_n.data, e_c, rtol=1e-10, atol=1e-12)
    assert h_n.shape == c_n.shape == (num_layers, N, 4)
    last = out.data[:, -1] if batch_first else out.data[-1]
    np.testing.assert_array_equal(h_n.data[-1], last)  # h_n of the top layer is the last output


def test_lstm_gradcheck_every_input_and_parameter(rng):
    m = LSTM(2, 3, num_layers=2).double()
    x = t64(rng.standard_normal((3, 2, 2)), True)
    h0, c0 = t64(rng.standard_normal((2, 2, 3)), True), t64(rng.standard_normal((2, 2, 3)), True)

    def fn(*_):
        out, (h_n, c_n) = m(x, (h0, c0))
        return out.sum(axis=0) + h_n[0] * 0.7 + c_n.sum(axis=0) * 1.3

    gradcheck(fn, x, h0, c0, *m.parameters())


def test_lstm_gradcheck_without_bias_and_default_state(rng):
    m = LSTM(2, 3, bias=False, batch_first=True).double()
    x = t64(rng.standard_normal((2, 4, 2)), True)
    gradcheck(lambda *_: m(x)[0], x, *m.parameters())


def test_lstm_is_one_fused_graph_node_per_layer():
    m = LSTM(2, 3)
    out, _ = m(Tensor(np.ones((50, 1, 2)), requires_grad=True))
    node, depth = out, 0
    while node._parents:  # getitem -> lstm_layer -> leaf
        node = node._parents[0]
        depth += 1
    assert depth <= 3, f"LSTM should be one fused op, found a chain of {depth} nodes"


def test_lstm_errors_are_clear():
    m = LSTM(3, 4)
    with pytest.raises(ValueError, match=r"\(T, N, I\) with I=3.*\(5, 2, 7\)"):
        m(np.zeros((5, 2, 7), dtype=np.float32))
    with pytest.raises(ValueError, match="num_layers, N, H"):
        m(np.zeros((5, 2, 3), dtype=np.float32), (np.zeros((2, 4)), np.zeros((2, 4))))
    with pytest.raises(TypeError, match="float32"):
        m(Tensor(np.zeros((5, 2, 3)), dtype=F64))
    with pytest.raises(ValueError, match=r"\(N, 3\)"):
        LSTMCell(3, 4)(np.zeros((2, 5), dtype=np.float32))


def test_lstm_dropout_between_layers_only_in_training():
    np.random.seed(1)
    m = LSTM(2, 3, num_layers=2, dropout=0.5).double()
    x = np.random.default_rng(0).standard_normal((4, 2, 2))
    m.eval()
    a, b = m(x)[0].data, m(x)[0].data
    np.testing.assert_array_equal(a, b)
    m.train()
    assert not np.allclose(m(x)[0].data, a)


def test_lstm_matches_torch(rng):
    torch = pytest.importorskip("torch")
    m = LSTM(3, 4, num_layers=2, batch_first=True).double()
    tm = torch.nn.LSTM(3, 4, num_layers=2, batch_first=True).double()
    with torch.no_grad():
        for name, p in m.named_parameters():
            getattr(tm, name).copy_(torch.from_numpy(p.data))
    x = rng.standard_normal((2, 6, 3))
    h0, c0 = rng.standard_normal((2, 2, 4)), rng.standard_normal((2, 2, 4))
    xs = [t64(a, True) for a in (x, h0, c0)]
    out, (h_n, c_n) = m(xs[0], (xs[1], xs[2]))
    (out.sum() + (h_n * h_n).sum() + (c_n * 3.0).sum()).backward()
    ts = [torch.tensor(a, requires_grad=True) for a in (x, h0, c0)]
    tout, (th, tc) = tm(ts[0], (ts[1], ts[2]))
    (tout.sum() + (th * th).sum() + (tc * 3.0).sum()).backward()
    for ours, theirs in ((out, tout), (h_n, th), (c_n, tc)):
        np.testing.assert_allclose(ours.data, theirs.detach().numpy(), rtol=1e-10, atol=1e-12)
    for ours, theirs in zip(xs, ts):
        np.testing.assert_allclose(ours.grad, theirs.grad.numpy(), rtol=1e-10, atol=1e-12)
    for name, p in m.named_parameters():
        np.testing.assert_allclose(p.grad, getattr(tm, name).grad.numpy(), rtol=1e-10, atol=1e-12, err_msg=name)


def test_lstm_runs_on_device(device, rng):
    m = LSTM(3, 4).to(device)
    out, (h_n, c_n) = m(Tensor(rng.standard_normal((5, 2, 3)), device=device))
    out.sum().backward()
    assert out.device == device and m.weight_hh_l0.grad is not None


@pytest.mark.parametrize("block", [1, 2, 100])
def test_lstm_backward_in_blocks_matches_a_loop_of_cells_and_gradchecks(rng, monkeypatch, block):
    """The fused backward walks back through time in blocks of BPTT_BLOCK steps (5 = 2 + 2 + 1 when 2):
    its gradients must equal those of the readable twin, a Python loop of LSTMCell steps."""
    import utils.nn.recurrent as recurrent

    monkeypatch.setattr(recurrent, "BPTT_BLOCK", block)
    m = LSTM(2, 3).double()
    cell = LSTMCell(2, 3).double()
    for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
        getattr(cell, name).data[...] = getattr(m, f"{name}_l0").data
    x = t64(rng.standard_normal((5, 2, 2)), True)
    h0, c0 = t64(rng.standard_normal((1, 2, 3)), True), t64(rng.standard_normal((1, 2, 3)), True)
    weights = np.linspace(-1.0, 1.0, 5 * 2 * 3).reshape(5, 2, 3)

    out, (h_n, c_n) = m(x, (h0, c0))
    ((out * t64(weights)).sum() + (c_n * 0.5).sum()).backward()
    fused = [a.grad.copy() for a in (x, h0, c0, *m.parameters())]
    for t in (x, h0, c0):
        t.grad = None
    h, c, loss = h0[0], c0[0], 0.0
    for t in range(5):
        h, c = cell(x[t], (h, c))
        loss = loss + (h * t64(weights[t])).sum()
    (loss + (c * 0.5).sum()).backward()
    looped = [a.grad for a in (x, h0, c0, *cell.parameters())]
    for got, want in zip(fused, looped):
        np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    gradcheck(lambda *_: m(x, (h0, c0))[0], x, h0, c0, *m.parameters())


def test_lstm_float32_matches_a_loop_of_cells_and_frozen_weights_skip_their_gradients(rng):
    """At float32 the fused layer agrees with LSTMCell steps to float32 rounding; with the input and
    the weights frozen only the initial state gets a gradient (the paths that skip dx and dW)."""
    m, cell = LSTM(3, 8), LSTMCell(3, 8)
    for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
        getattr(cell, name).data[...] = getattr(m, f"{name}_l0").data
    x = Tensor(rng.standard_normal((7, 4, 3)).astype(np.float32))  # no gradient wanted
    h0 = Tensor(rng.standard_normal((1, 4, 8)).astype(np.float32), requires_grad=True)
    c0 = Tensor(rng.standard_normal((1, 4, 8)).astype(np.float32), requires_grad=True)
    m.requires_grad_(False)
    cell.requires_grad_(False)
    weights = np.linspace(-1.0, 1.0, 7 * 4 * 8, dtype=np.float32).reshape(7, 4, 8)
    out, (h_n, c_n) = m(x, (h0, c0))
    ((out * Tensor(weights)).sum() + c_n.sum()).backward()
    fused = [out.data.copy(), h0.grad.copy(), c0.grad.copy()]
    h0.grad = c0.grad = None
    h, c, loss, hs = h0[0], c0[0], 0.0, []
    for t in range(7):
        h, c = cell(x[t], (h, c))
        hs.append(h.data)
        loss = loss + (h * Tensor(weights[t])).sum()
    (loss + c.sum()).backward()
    for got, want in zip(fused, [np.stack(hs), h0.grad, c0.grad]):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    assert x.grad is None and all(p.grad is None for p in m.parameters())
