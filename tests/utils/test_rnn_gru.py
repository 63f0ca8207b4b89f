"""RNN/RNNCell and GRU/GRUCell: PyTorch layouts, a per-step NumPy reference, float64
gradient checks of the cells and of the fused layers, and PyTorch parity where installed."""
import numpy as np
import pytest

from utils import Tensor, asnumpy, gradcheck
from utils.nn import GRU, RNN, GRUCell, RNNCell

F64 = np.float64
LAYERS = {"RNN": RNN, "GRU": GRU}
CELLS = {"RNN": RNNCell, "GRU": GRUCell}
GATES = {"RNN": 1, "GRU": 3}


def sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def numpy_step(kind, x, h, w_ih, w_hh, b_ih, b_hh, nonlinearity="tanh"):
    """One step written out independently (GRU gate order r, z, n, as PyTorch)."""
    gi, gh = x @ w_ih.T + b_ih, h @ w_hh.T + b_hh
    if kind == "RNN":
        a = gi + gh
        return np.tanh(a) if nonlinearity == "tanh" else np.maximum(a, 0.0)
    H = h.shape[1]
    r = sigmoid(gi[:, :H] + gh[:, :H])
    z = sigmoid(gi[:, H:2 * H] + gh[:, H:2 * H])
    n = np.tanh(gi[:, 2 * H:] + r * gh[:, 2 * H:])
    return (1.0 - z) * n + z * h


def numpy_layers(kind, x, h0, params, num_layers, nonlinearity="tanh"):
    """An explicit per-layer, per-step loop over a (T, N, I) input: (output, h_n)."""
    out, h_n = x, []
    for k in range(num_layers):
        h, steps = h0[k], []
        for t in range(out.shape[0]):
            h = numpy_step(kind, out[t], h, *(params[f"{n}_l{k}"] for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")),
                           nonlinearity=nonlinearity)
            steps.append(h)
        out = np.stack(steps)
        h_n.append(h)
    return out, np.stack(h_n)


def t64(a, grad=False):
    return Tensor(np.array(a, dtype=F64), requires_grad=grad, dtype=F64)


@pytest.mark.parametrize("kind", LAYERS)
def test_parameter_names_shapes_and_init(kind):
    g = GATES[kind]
    np.random.seed(0)
    m = LAYERS[kind](3, 5, num_layers=2)
    shapes = {n: p.shape for n, p in m.named_parameters()}
    assert shapes == {"weight_ih_l0": (g * 5, 3), "weight_hh_l0": (g * 5, 5), "bias_ih_l0": (g * 5,), "bias_hh_l0": (g * 5,),
                      "weight_ih_l1": (g * 5, 5), "weight_hh_l1": (g * 5, 5), "bias_ih_l1": (g * 5,), "bias_hh_l1": (g * 5,)}
    assert list(shapes)[:2] == ["weight_ih_l0", "weight_hh_l0"]  # PyTorch's order, so state_dicts line up
    bound = 1 / np.sqrt(5)
    assert all(np.abs(p.numpy()).max() <= bound for p in m.parameters())
    assert [n for n, _ in LAYERS[kind](3, 5, bias=False).named_parameters()] == ["weight_ih_l0", "weight_hh_l0"]
    cell = CELLS[kind](3, 5)
    assert [(n, p.shape) for n, p in cell.named_parameters()] == [
        ("weight_ih", (g * 5, 3)), ("weight_hh", (g * 5, 5)), ("bias_ih", (g * 5,)), ("bias_hh", (g * 5,))]
    assert m.batch_first is False  # PyTorch's default layout is (T, N, *)


@pytest.mark.parametrize("kind", CELLS)
def test_cell_matches_numpy_step(kind, rng):
    cell = CELLS[kind](3, 4).double()
    x, h = rng.standard_normal((2, 3)), rng.standard_normal((2, 4))
    got = cell(t64(x), t64(h))
    p = {n: q.data for n, q in cell.named_parameters()}
    want = numpy_step(kind, x, h, p["weight_ih"], p["weight_hh"], p["bias_ih"], p["bias_hh"])
    np.testing.assert_allclose(got.data, want, rtol=1e-12, atol=1e-12)
    zero_state = cell(t64(x))  # hx=None means zeros
    np.testing.assert_allclose(zero_state.data, numpy_step(kind, x, np.zeros((2, 4)), *p.values()), atol=1e-12)
    unbatched = cell(t64(x[0]), t64(h[0]))  # (I,) and (H,) -> (H,), as PyTorch
    assert unbatched.shape == (4,)
    np.testing.assert_allclose(unbatched.data, want[0], atol=1e-12)


def test_rnn_cell_relu_nonlinearity(rng):
    cell = RNNCell(3, 4, nonlinearity="relu").double()
    x, h = rng.standard_normal((2, 3)), rng.standard_normal((2, 4))
    p = [q.data for q in cell.parameters()]
    np.testing.assert_allclose(cell(t64(x), t64(h)).data, numpy_step("RNN", x, h, *p, nonlinearity="relu"), atol=1e-12)
    with pytest.raises(ValueError, match="'tanh' or 'relu'"):
        RNNCell(3, 4, nonlinearity="sigmoid")


@pytest.mark.parametrize("kind", CELLS)
@pytest.mark.parametrize("bias", [True, False])
def test_cell_gradcheck(kind, bias, rng):
    cell = CELLS[kind](3, 4, bias=bias).double()
    x, h = t64(rng.standard_normal((2, 3)), True), t64(rng.standard_normal((2, 4)), True)
    gradcheck(lambda *_: cell(x, h), x, h, *cell.parameters())


@pytest.mark.parametrize("kind", LAYERS)
@pytest.mark.parametrize("num_layers, batch_first", [(1, False), (2, True)])
def test_layer_matches_per_step_loop(kind, num_layers, batch_first, rng):
    m = LAYERS[kind](3, 4, num_layers=num_layers, batch_first=batch_first).double()
    x = rng.standard_normal((5, 2, 3))  # (T, N, I)
    h0 = rng.standard_normal((num_layers, 2, 4))
    out, h_n = m(t64(np.swapaxes(x, 0, 1) if batch_first else x), t64(h0))
    want_out, want_h = numpy_layers(kind, x, h0, {n: p.data for n, p in m.named_parameters()}, num_layers)
    got_out = np.swapaxes(out.data, 0, 1) if batch_first else out.data
    assert out.shape == ((2, 5, 4) if batch_first else (5, 2, 4)) and h_n.shape == (num_layers, 2, 4)
    np.testing.assert_allclose(got_out, want_out, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(h_n.data, want_h, rtol=1e-12, atol=1e-12)


def test_rnn_relu_layer_matches_per_step_loop(rng):
    m = RNN(3, 4, num_layers=2, nonlinearity="relu").double()
    x, h0 = rng.standard_normal((5, 2, 3)), rng.standard_normal((2, 2, 4))
    out, h_n = m(t64(x), t64(h0))
    want_out, want_h = numpy_layers("RNN", x, h0, {n: p.data for n, p in m.named_parameters()}, 2, "relu")
    np.testing.assert_allclose(out.data, want_out, atol=1e-12)
    np.testing.assert_allclose(h_n.data, want_h, atol=1e-12)


@pytest.mark.parametrize("kind, kwargs", [("RNN", {}), ("RNN", {"nonlinearity": "relu"}), ("GRU", {})])
def test_fused_layer_gradcheck_every_input_and_parameter(kind, kwargs, rng):
    m = LAYERS[kind](2, 3, num_layers=2, **kwargs).double()
    x = t64(rng.standard_normal((4, 2, 2)), True)
    h0 = t64(rng.standard_normal((2, 2, 3)), True)

    def fn(*_):
        out, h_n = m(x, h0)
        return out.sum(axis=0) * 0.9 + h_n[0] * 0.7 + h_n[1] * 1.3

    gradcheck(fn, x, h0, *m.parameters())


@pytest.mark.parametrize("kind", LAYERS)
def test_fused_layer_gradcheck_without_bias_and_default_state(kind, rng):
    m = LAYERS[kind](2, 3, bias=False, batch_first=True).double()
    x = t64(rng.standard_normal((2, 4, 2)), True)
    gradcheck(lambda *_: m(x)[0], x, *m.parameters())


@pytest.mark.parametrize("kind", LAYERS)
def test_fused_layer_agrees_with_its_cell_in_gradients(kind, rng):
    """The fast path and the readable twin: same weights, same input, same gradients."""
    m = LAYERS[kind](3, 4).double()
    cell = CELLS[kind](3, 4).double()
    for name, p in cell.named_parameters():
        p.data[...] = getattr(m, f"{name}_l0").data
    x = rng.standard_normal((6, 2, 3))
    probe = rng.standard_normal((6, 2, 4))
    xa, xb = t64(x, True), t64(x, True)
    m(xa)[0].backward(probe)
    h, steps = None, []
    for t in range(6):
        h = cell(xb[t], h)
        steps.append(h)
    from utils import stack

    stack(steps).backward(probe)
    np.testing.assert_allclose(xa.grad, xb.grad, rtol=1e-10, atol=1e-12)
    for name, p in cell.named_parameters():
        np.testing.assert_allclose(getattr(m, f"{name}_l0").grad, p.grad, rtol=1e-10, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("kind", LAYERS)
def test_fused_layer_is_one_graph_node(kind):
    m = LAYERS[kind](2, 3)
    out, _ = m(Tensor(np.ones((50, 1, 2)), requires_grad=True))
    assert out._op == f"{kind.lower()}_layer" and all(p.is_leaf for p in out._parents)


@pytest.mark.parametrize("kind", LAYERS)
def test_errors_are_clear(kind):
    m = LAYERS[kind](3, 4)
    with pytest.raises(ValueError, match=r"\(T, N, I\) with I=3.*\(5, 2, 7\)"):
        m(np.zeros((5, 2, 7), dtype=np.float32))
    with pytest.raises(ValueError, match="num_layers, N, H"):
        m(np.zeros((5, 2, 3), dtype=np.float32), np.zeros((2, 4)))
    with pytest.raises(TypeError, match="float32"):
        m(Tensor(np.zeros((5, 2, 3)), dtype=F64))
    with pytest.raises(ValueError, match="empty"):
        m(np.zeros((0, 2, 3), dtype=np.float32))
    with pytest.raises(ValueError, match=r"\(N, 3\)"):
        CELLS[kind](3, 4)(np.zeros((2, 5), dtype=np.float32))
    with pytest.raises(ValueError, match=r"\(N, H\)"):
        CELLS[kind](3, 4)(np.zeros((2, 3), dtype=np.float32), np.zeros((2, 5)))
    with pytest.raises(ValueError, match="num_layers"):
        LAYERS[kind](3, 4, num_layers=0)


@pytest.mark.parametrize("kind", LAYERS)
def test_dropout_between_layers_only_in_training(kind):
    np.random.seed(1)
    m = LAYERS[kind](2, 3, num_layers=2, dropout=0.5).double()
    x = np.random.default_rng(0).standard_normal((4, 2, 2))
    m.eval()
    a = m(x)[0].data
    np.testing.assert_array_equal(a, m(x)[0].data)
    m.train()
    assert not np.allclose(m(x)[0].data, a)


@pytest.mark.parametrize("kind, kwargs", [("RNN", {"nonlinearity": "tanh"}), ("RNN", {"nonlinearity": "relu"}), ("GRU", {})])
def test_matches_torch(kind, kwargs, rng):
    torch = pytest.importorskip("torch", reason="torch is not installed (pip install torch==2.13.0)")
    m = LAYERS[kind](3, 4, num_layers=2, batch_first=True, **kwargs).double()
    tm = getattr(torch.nn, kind)(3, 4, num_layers=2, batch_first=True, **kwargs).double()
    with torch.no_grad():
        for name, p in m.named_parameters():
            getattr(tm, name).copy_(torch.from_numpy(p.data))
    x, h0 = rng.standard_normal((2, 6, 3)), rng.standard_normal((2, 2, 4))
    xs = [t64(a, True) for a in (x, h0)]
    out, h_n = m(*xs)
    (out.sum() + (h_n * h_n).sum()).backward()
    ts = [torch.tensor(a, requires_grad=True) for a in (x, h0)]
    tout, th = tm(*ts)
    (tout.sum() + (th * th).sum()).backward()
    np.testing.assert_allclose(out.data, tout.detach().numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(h_n.data, th.detach().numpy(), rtol=1e-10, atol=1e-12)
    for ours, theirs in zip(xs, ts):
        np.testing.assert_allclose(ours.grad, theirs.grad.numpy(), rtol=1e-10, atol=1e-12)
    for name, p in m.named_parameters():
        np.testing.assert_allclose(p.grad, getattr(tm, name).grad.numpy(), rtol=1e-10, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("kind", CELLS)
def test_cell_matches_torch(kind, rng):
    torch = pytest.importorskip("torch", reason="torch is not installed (pip install torch==2.13.0)")
    cell = CELLS[kind](3, 4).double()
    tcell = getattr(torch.nn, f"{kind}Cell")(3, 4).double()
    with torch.no_grad():
        for name, p in cell.named_parameters():
            getattr(tcell, name).copy_(torch.from_numpy(p.data))
    x, h = rng.standard_normal((2, 3)), rng.standard_normal((2, 4))
    np.testing.assert_allclose(cell(t64(x), t64(h)).data, tcell(torch.tensor(x), torch.tensor(h)).detach().numpy(),
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kind", LAYERS)
def test_runs_on_device(kind, device, rng):
    m = LAYERS[kind](3, 4, num_layers=2).to(device)
    out, h_n = m(Tensor(rng.standard_normal((5, 2, 3)), device=device))
    (out.sum() + h_n.sum()).backward()
    assert out.device == device and h_n.device == device
    assert all(p.grad is not None and np.all(np.isfinite(asnumpy(p.grad))) for p in m.parameters())
