"""The autograd engine itself: every primitive op of ``utils.tensor`` against finite differences.

Each case is checked in float64 with central differences (``utils.gradcheck``, a random
probe so every output element counts) on every device the ``device`` fixture offers
(CUDA skips cleanly without a GPU). Inputs keep away from kinks (relu at 0, abs at 0,
clip bounds, ties in max) so the finite differences are meaningful. Then the device and
dtype rules of ``utils.tensor``'s docstring, one test per way a Tensor is made.
"""
import numpy as np
import pytest

import utils
from utils import Tensor, gradcheck, nn
from utils.backend import cupy_available, set_default_device
from utils.tensor import cat, gather, one_hot, stack, where

F64 = np.float64


def _t(rng, *shape, device="cpu", low=None, grad=True):
    """A float64 Tensor of ``shape`` on ``device``; with ``low``, |values| >= low (away from 0)."""
    a = rng.standard_normal(shape)
    if low is not None:
        a = np.sign(a) * (low + np.abs(a))
    return Tensor(a, requires_grad=grad, dtype=F64, device=device)


def _pos(rng, *shape, device="cpu"):
    """Strictly positive float64 values in [0.5, 2] (for log, sqrt, division)."""
    return Tensor(rng.uniform(0.5, 2.0, shape), requires_grad=True, dtype=F64, device=device)


# ---------------------------------------------------------------------- cases: (name, build) where
# build(rng, device) -> (fn, inputs); fn maps the inputs to one Tensor.
def _binary(op):
    return lambda rng, d: (op, [_t(rng, 3, 4, device=d), _t(rng, 3, 4, device=d)])


def _broadcast(op, a_shape, b_shape, positive_b=False):
    def build(rng, d):
        b = _pos(rng, *b_shape, device=d) if positive_b else _t(rng, *b_shape, device=d)
        return op, [_t(rng, *a_shape, device=d), b]
    return build


def _unary(op, maker=_t, shape=(3, 4), **kw):
    return lambda rng, d: (op, [maker(rng, *shape, device=d, **kw)])


CASES = {
    # arithmetic, same shape and broadcast (gradients must sum over stretched axes)
    "add": _binary(lambda a, b: a + b),
    "sub": _binary(lambda a, b: a - b),
    "mul": _binary(lambda a, b: a * b),
    "div": _broadcast(lambda a, b: a / b, (3, 4), (3, 4), positive_b=True),
    "add broadcast (3,1,4)+(2,4)": _broadcast(lambda a, b: a + b, (3, 1, 4), (2, 4)),
    "sub broadcast (4,)-(3,4)": _broadcast(lambda a, b: a - b, (4,), (3, 4)),
    "mul broadcast (2,3,4)*(3,1)": _broadcast(lambda a, b: a * b, (2, 3, 4), (3, 1)),
    "div broadcast (2,3)/(1,3)": _broadcast(lambda a, b: a / b, (2, 3), (1, 3), positive_b=True),
    "scalar operands (radd, rsub, rmul, rtruediv)": _unary(lambda a: 2.0 + a - 3.0 * (1.5 - a) * 0.5 + 1.0 / a,
                                                          _t, low=0.5),
    "ndarray operand on the left": _unary(lambda a: np.linspace(-1, 1, 4) * a + np.ones(4)),
    "neg": _unary(lambda a: -a),
    "pow 3": _unary(lambda a: a ** 3),
    "pow 2": _unary(lambda a: a ** 2),
    "pow -1.5 (positive base)": _unary(lambda a: a ** -1.5, _pos),
    # matmul in every shape combination
    "matmul 2D@2D": _broadcast(lambda a, b: a @ b, (3, 4), (4, 5)),
    "matmul batched (2,3,4)@(4,5)": _broadcast(lambda a, b: a @ b, (2, 3, 4), (4, 5)),
    "matmul broadcast batch (2,1,3,4)@(5,4,2)": _broadcast(lambda a, b: a @ b, (2, 1, 3, 4), (5, 4, 2)),
    "matmul 1D@2D": _broadcast(lambda a, b: a @ b, (4,), (4, 3)),
    "matmul 2D@1D": _broadcast(lambda a, b: a @ b, (3, 4), (4,)),
    "matmul 1D@1D": _broadcast(lambda a, b: a @ b, (4,), (4,)),
    "rmatmul ndarray@Tensor": _unary(lambda a: np.linspace(-1, 1, 6).reshape(2, 3) @ a, shape=(3, 4)),
    # reductions
    "sum all": _unary(lambda a: a.sum(), shape=(2, 3, 4)),
    "sum axis 1": _unary(lambda a: a.sum(axis=1), shape=(2, 3, 4)),
    "sum axes (0,2) keepdims": _unary(lambda a: a.sum(axis=(0, 2), keepdims=True), shape=(2, 3, 4)),
    "sum axis -1": _unary(lambda a: a.sum(axis=-1), shape=(2, 3, 4)),
    "mean axis 0": _unary(lambda a: a.mean(axis=0), shape=(2, 3, 4)),
    "mean all": _unary(lambda a: a.mean(), shape=(2, 3, 4)),
    "var unbiased axis 1": _unary(lambda a: a.var(axis=1), shape=(2, 5, 3)),
    "var biased all keepdims": _unary(lambda a: a.var(axis=None, keepdims=True, unbiased=False), shape=(2, 5)),
    "max axis 1": _unary(lambda a: a.max(axis=1), shape=(3, 5)),
    "max all keepdims": _unary(lambda a: a.max(keepdims=True), shape=(3, 5)),
    "min axis 0": _unary(lambda a: a.min(axis=0), shape=(3, 5)),
    # reshapes and views
    "reshape": _unary(lambda a: a.reshape(4, 6) * np.arange(24.0).reshape(4, 6), shape=(2, 3, 4)),
    "reshape -1": _unary(lambda a: a.reshape(-1, 2), shape=(2, 3, 4)),
    "view": _unary(lambda a: a.view(6, 4), shape=(2, 3, 4)),
    "flatten 1..": _unary(lambda a: a.flatten(1), shape=(2, 3, 4)),
    "transpose": _unary(lambda a: a.transpose(0, 2), shape=(2, 3, 4)),
    ".T": _unary(lambda a: a.T @ a, shape=(3, 4)),
    "permute": _unary(lambda a: a.permute(2, 0, 1), shape=(2, 3, 4)),
    "unsqueeze/squeeze": _unary(lambda a: a.unsqueeze(1).squeeze(1).unsqueeze(-1) * 2.0, shape=(3, 4)),
    "squeeze all": _unary(lambda a: a.squeeze(), shape=(3, 1, 4)),
    "expand": _unary(lambda a: a.expand(2, 3, 4), shape=(3, 1)),
    # indexing
    "getitem int": _unary(lambda a: a[1], shape=(3, 4)),
    "getitem slices and step": _unary(lambda a: a[::2, 1:3], shape=(5, 4)),
    "getitem negative, None, Ellipsis": _unary(lambda a: a[..., -1][:, None], shape=(2, 3, 4)),
    "getitem repeated integer array (gradients add up)": _unary(lambda a: a[np.array([0, 2, 0, 0])], shape=(3, 4)),
    "getitem two integer arrays": _unary(lambda a: a[np.array([0, 1, 1]), np.array([3, 0, 3])], shape=(3, 4)),
    "getitem boolean mask": _unary(lambda a: a[np.array([True, False, True])], shape=(3, 4)),
    "getitem Tensor index": _unary(lambda a: a[:, Tensor(np.array([2, 2, 0]))], shape=(3, 4)),
    "gather dim 1": _unary(lambda a: a.gather(1, np.array([[0, 0], [3, 1], [2, 2]])), shape=(3, 4)),
    "gather dim 0, smaller index": _unary(lambda a: gather(a, 0, np.array([[2, 0, 2], [1, 1, 0]])), shape=(3, 4)),
    # elementwise functions
    "exp": _unary(lambda a: a.exp()),
    "log": _unary(lambda a: a.log(), _pos),
    "sqrt": _unary(lambda a: a.sqrt(), _pos),
    "abs": _unary(lambda a: a.abs(), low=0.1),
    "tanh": _unary(lambda a: a.tanh()),
    "sigmoid": _unary(lambda a: a.sigmoid()),
    "sigmoid large |x|": _unary(lambda a: (a * 30.0).sigmoid()),
    "relu": _unary(lambda a: a.relu(), low=0.1),
    "gelu": _unary(lambda a: a.gelu()),
    "clip": _unary(lambda a: (a * 0.5 + np.linspace(-2.05, 2.05, 4)).clip(-1.0, 1.0)),
    "softmax last": _unary(lambda a: a.softmax(), shape=(2, 3, 4)),
    "softmax axis 1": _unary(lambda a: a.softmax(axis=1), shape=(2, 3, 4)),
    "log_softmax": _unary(lambda a: a.log_softmax(axis=-1), shape=(2, 3, 4)),
    "functional forms": _unary(lambda a: utils.exp(a) + utils.tanh(a) + utils.sigmoid(a) + utils.softmax(a)
                               + utils.log_softmax(a) + utils.gelu(a)),
    # masking, selection, joining
    "masked_fill broadcast mask": _unary(lambda a: a.masked_fill(np.array([True, False, False, True]), -1e9).softmax(), shape=(3, 4)),
    "masked_fill Tensor mask": _unary(lambda a: a.masked_fill(Tensor(np.eye(3, dtype=bool)), 0.0), shape=(3, 3)),
    "where": _broadcast(lambda a, b: where(np.array([[True, False, True, False]] * 3), a, b), (3, 4), (3, 4)),
    "where broadcast b (1,4)": _broadcast(lambda a, b: where(np.arange(12).reshape(3, 4) % 3 == 0, a, b), (3, 4), (1, 4)),
    "where scalar other side": _unary(lambda a: where(np.arange(4) % 2 == 0, a, 0.0), shape=(2, 4)),
    "cat axis 0": _broadcast(lambda a, b: cat([a, b], axis=0), (2, 4), (3, 4)),
    "cat axis -1": _broadcast(lambda a, b: cat([a, b, a], axis=-1), (2, 3), (2, 1)),
    "stack axis 0": _broadcast(lambda a, b: stack([a, b]), (2, 3), (2, 3)),
    "stack axis 2": _broadcast(lambda a, b: stack([b, a], axis=2), (2, 3), (2, 3)),
    # conversions that stay on the graph
    "astype": _unary(lambda a: a.astype(F64) * a),
    "to same device": _unary(lambda a: a.to(a.device) * a),
}


@pytest.mark.parametrize("name", list(CASES))
def test_op_gradients_match_finite_differences(name, device, rng):
    fn, inputs = CASES[name](rng, device)
    out = fn(*inputs)
    assert out.device == device and out.dtype == F64, f"{name}: got {out.device}/{out.dtype}"
    worst = gradcheck(fn, *inputs)  # raises naming the input and position when a gradient is off
    assert worst < 1e-6


def test_gradcheck_catches_a_wrong_backward(rng):
    """The harness above can fail: a deliberately wrong backward is caught."""
    x = _t(rng, 3, 4)

    def wrong_square(a):
        return Tensor._make(a.data ** 2, (a,), lambda g: (g * a.data,), "wrong")  # missing factor 2

    with pytest.raises(AssertionError, match="gradient differs"):
        gradcheck(wrong_square, x)


def test_astype_sends_gradients_back_in_the_source_dtype(device):
    x = Tensor([1.0, 2.0], requires_grad=True, dtype=F64, device=device)
    (x.astype(np.float32) * 3.0).sum().backward()
    assert x.grad.dtype == F64
    np.testing.assert_allclose(utils.asnumpy(x.grad), [3.0, 3.0])


def test_moving_between_devices_is_differentiable(device):
    x = Tensor([1.0, -2.0], requires_grad=True, dtype=F64, device=device)
    y = x.to("cpu") * np.array([3.0, 4.0])  # (2,) on the host
    assert y.device == "cpu"
    y.sum().backward()
    assert x.grad is not None and utils.get_array_module(x.grad) is x.xp  # the gradient comes back home
    np.testing.assert_allclose(utils.asnumpy(x.grad), [3.0, 4.0])


def test_detach_cuts_the_graph(device):
    x = Tensor([1.0, 2.0], requires_grad=True, dtype=F64, device=device)
    (x * x.detach()).sum().backward()  # d/dx of x * c is c: the detached factor is a constant
    np.testing.assert_allclose(utils.asnumpy(x.grad), [1.0, 2.0])


def test_max_ties_share_the_gradient(device):
    x = Tensor([[1.0, 3.0, 3.0], [2.0, 0.0, 1.0]], requires_grad=True, dtype=F64, device=device)
    x.max(axis=1).sum().backward()
    np.testing.assert_allclose(utils.asnumpy(x.grad), [[0, 0.5, 0.5], [1, 0, 0]])


def test_gradients_accumulate_until_zeroed(device):
    x = Tensor([1.0, 2.0], requires_grad=True, dtype=F64, device=device)
    (x * x).sum().backward()
    (x * 3.0).sum().backward()
    np.testing.assert_allclose(utils.asnumpy(x.grad), [5.0, 7.0])
    x.zero_grad()
    assert x.grad is None


def test_no_grad_records_nothing(device):
    x = Tensor([1.0, 2.0], requires_grad=True, device=device)
    with utils.no_grad():
        y = x * 2.0
    assert not y.requires_grad and y.is_leaf
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.sum().backward()


def test_an_op_records_its_graph_when_any_parent_requires_grad():
    const, leaf = Tensor([1.0, 2.0]), Tensor([3.0, 4.0], requires_grad=True)
    y = const * leaf  # the second parent is the one that needs a gradient
    assert y.requires_grad and y._parents == (const, leaf) and y._backward is not None
    assert not (const * const).requires_grad and (const * const).is_leaf
    with utils.no_grad():
        z = const * leaf
    assert not z.requires_grad and z.is_leaf and z._backward is None
    y.sum().backward()
    np.testing.assert_allclose(leaf.grad, [1.0, 2.0])


def test_masked_fill_fully_masked_row_has_no_nan(device):
    scores = Tensor(np.zeros((2, 3)), requires_grad=True, dtype=F64, device=device)
    weights = scores.masked_fill(np.array([[True, True, True], [False, True, True]]), -1e9).softmax()
    assert np.all(np.isfinite(utils.asnumpy(weights.data)))


def test_masked_fill_and_gather_refuse_bad_arguments():
    x = Tensor(np.zeros((3, 4)))
    with pytest.raises(TypeError, match="boolean mask"):
        x.masked_fill(np.zeros((3, 4)), 1.0)
    with pytest.raises(TypeError, match="integers"):
        x.gather(1, np.zeros((3, 1)))
    with pytest.raises(ValueError, match="dimensions"):
        x.gather(1, np.zeros(3, dtype=int))
    with pytest.raises(IndexError, match=r"\[0, 4\)"):
        x.gather(1, np.full((3, 1), 4))
    with pytest.raises(IndexError, match="out of range"):
        x.gather(2, np.zeros((3, 1), dtype=int))


def test_one_hot_matches_pytorch_convention(device):
    t = one_hot(Tensor(np.array([[0, 2], [1, 0]]), device=device), num_classes=3)
    assert t.shape == (2, 2, 3) and t.dtype == np.int64 and t.device == device
    np.testing.assert_array_equal(t.numpy(), np.eye(3, dtype=np.int64)[[[0, 2], [1, 0]]])
    assert one_hot([3, 1]).shape == (2, 4)  # num_classes=-1: max + 1
    with pytest.raises(ValueError, match="num_classes=2"):
        one_hot([0, 2], num_classes=2)
    with pytest.raises(ValueError, match="non-negative"):
        one_hot([-1, 0])
    with pytest.raises(TypeError, match="integers"):
        one_hot([0.0, 1.0])


def test_gather_picks_target_scores():
    logits = Tensor(np.arange(12.0).reshape(3, 4))
    picked = logits.gather(1, np.array([[1], [0], [3]]))
    np.testing.assert_array_equal(picked.numpy(), [[1.0], [4.0], [11.0]])


# ---------------------------------------------------------------------- the device rule
@pytest.fixture
def default_device(device):
    """Make ``device`` the default for the test, then go back to $UTILS_DEVICE."""
    set_default_device(device)
    yield device
    set_default_device(None)


def test_every_way_of_making_a_tensor_follows_the_default_device(default_device):
    d = default_device
    made = {
        "Tensor(list)": Tensor([1.0, 2.0]),
        "Tensor(scalar)": Tensor(3.0),
        "Tensor(ndarray)": Tensor(np.ones((2, 2))),
        "tensor(ndarray)": utils.tensor(np.ones(2)),
        "zeros": utils.zeros(2, 3),
        "ones": utils.ones(2),
        "Parameter(ndarray)": nn.Parameter(np.ones(3)),
        "Linear weight": nn.Linear(2, 3).weight,
        "LSTM weight": nn.LSTM(2, 3).weight_hh_l0,
        "GRU weight": nn.GRU(2, 3).weight_ih_l0,
        "BatchNorm2d running_mean": nn.BatchNorm2d(3).running_mean,
        "Embedding weight": nn.Embedding(4, 2).weight,
        "DataLoader batch": next(iter(utils.DataLoader(np.ones((4, 2)), np.arange(4), batch_size=2)))[0],
        "DataLoader targets": next(iter(utils.DataLoader(np.ones((4, 2)), np.arange(4), batch_size=2)))[1],
    }
    wrong = {k: t.device for k, t in made.items() if t.device != d}
    assert not wrong, f"default device {d!r}, but these were made elsewhere: {wrong}"
    model = nn.Linear(2, 3)
    assert model(Tensor(np.ones((4, 2)))).device == d  # an ndarray input meets the layer on one device


def test_tensors_keep_the_device_they_already_have(device):
    x = Tensor(np.ones(2), device=device)
    set_default_device("cpu")
    try:
        assert Tensor(x).device == device  # a Tensor keeps its device, as torch.tensor(t)
        assert nn.Parameter(x).device == device
        assert Tensor(x, device="cpu").device == "cpu"  # device= always wins
        assert Tensor(x.data).device == device  # a CuPy array stays on the GPU, a NumPy array goes to the default
    finally:
        set_default_device(None)


def test_set_default_device_overrides_the_environment(monkeypatch):
    monkeypatch.setenv("UTILS_DEVICE", "cpu")
    assert utils.default_device() == "cpu" and utils.get_default_device() == "cpu"
    with pytest.raises(ValueError, match="'cpu' or 'cuda'"):
        set_default_device("tpu")
    if not cupy_available():
        with pytest.raises(RuntimeError, match="CuPy cannot reach a GPU"):
            set_default_device("cuda")
    assert utils.default_device() == "cpu"  # a refused choice changes nothing
    monkeypatch.setenv("UTILS_DEVICE", "nonsense")
    set_default_device("cpu")
    try:
        assert utils.default_device() == "cpu"  # the explicit choice wins over $UTILS_DEVICE
    finally:
        set_default_device(None)
    with pytest.raises(ValueError, match="UTILS_DEVICE"):
        utils.default_device()


# ---------------------------------------------------------------------- the dtype rule
def test_every_way_of_making_a_tensor_follows_the_dtype_rule():
    f64 = np.ones(3, dtype=F64)
    assert Tensor(f64).dtype == np.float32  # other data: float -> float32
    assert Tensor([1.0, 2.0]).dtype == np.float32 and Tensor(2.5).dtype == np.float32
    assert Tensor(np.ones(2, dtype=np.float16)).dtype == np.float32
    assert nn.Parameter(f64).dtype == np.float32  # a Parameter follows the same rule (it did not)
    assert Tensor(np.arange(3, dtype=np.int32)).dtype == np.int64 and Tensor([1, 2]).dtype == np.int64
    assert Tensor(np.array([True])).dtype == np.bool_
    t64 = Tensor(f64, dtype=F64)  # dtype= wins
    assert t64.dtype == F64
    assert Tensor(t64).dtype == F64 and nn.Parameter(t64).dtype == F64  # a Tensor keeps its dtype
    assert nn.Parameter(f64, dtype=F64).dtype == F64
    for layer in (nn.Linear(2, 3, dtype=F64), nn.LSTM(2, 3, dtype=F64), nn.GRU(2, 3, dtype=F64), nn.RNN(2, 3, dtype=F64),
                  nn.BatchNorm2d(2, dtype=F64), nn.LayerNorm(2, dtype=F64), nn.Embedding(3, 2, dtype=F64),
                  nn.Conv2d(1, 2, 3, dtype=F64)):
        dtypes = {name: p.dtype for name, p in layer.named_parameters()}
        assert set(dtypes.values()) == {np.dtype(F64)}, f"{layer!r}: {dtypes}"
    assert nn.Linear(2, 3).weight.dtype == np.float32
    xb, yb = next(iter(utils.DataLoader(f64.reshape(3, 1), np.arange(3, dtype=np.int32), batch_size=3)))
    assert xb.dtype == np.float32 and yb.dtype == np.int64
    xb, _ = next(iter(utils.DataLoader(Tensor(f64.reshape(3, 1), dtype=F64), batch_size=3)))
    assert xb.dtype == F64  # batches of a Tensor keep its dtype


def test_ndarray_memory_is_shared_not_copied():
    a = np.zeros(3, dtype=np.float32)
    t = Tensor(a)
    a[0] = 5.0
    assert t.numpy()[0] == 5.0


# ---------------------------------------------------------------------- leaf gradients own their memory
def _op(parents, backward, fresh=False):
    from utils.tensor import fresh_gradients

    return Tensor._make(np.ones(3), parents, fresh_gradients(backward) if fresh else backward, "test_op")


def test_leaf_gradients_never_share_memory_with_anything():
    """A leaf's .grad may be changed in place (clipping, weight decay): it must not be the caller's array,
    an op's input gradient, nor another leaf's gradient; only arrays an op marks fresh are kept as they are."""
    x, y = Tensor(np.zeros(3), requires_grad=True), Tensor(np.zeros(3), requires_grad=True)
    upstream = np.arange(3.0)
    _op((x, y), lambda g: (g, g)).backward(upstream)  # passes the caller's array through, to both
    x.grad *= 10
    np.testing.assert_array_equal(upstream, np.arange(3.0))
    np.testing.assert_array_equal(y.grad, np.arange(3.0))

    x.grad = y.grad = None
    shared = np.ones(3)
    _op((x, y), lambda g: (shared, shared), fresh=True).backward(upstream)  # a marked op that breaks its word
    assert x.grad is not y.grad and x.grad is not shared and y.grad is not shared

    x.grad = None
    made = []
    _op((x,), lambda g: (made.append(g * 2) or made[-1],), fresh=True).backward(upstream)
    assert x.grad is made[0]  # kept without a copy
    np.testing.assert_array_equal(x.grad, 2 * upstream)


def test_fresh_gradient_summed_from_two_paths_is_new_and_right():
    x = Tensor(np.ones(3), requires_grad=True)
    kept = np.full(3, 5.0)
    out = _op((x, x), lambda g: (kept, g * 3), fresh=True)
    out.backward(np.ones(3))
    np.testing.assert_array_equal(x.grad, np.full(3, 8.0))
    x.grad += 1
    np.testing.assert_array_equal(kept, np.full(3, 5.0))


def test_an_op_gets_every_contribution_before_its_own_backward_runs():
    """A diamond in which the shorter path is listed first: x feeds z directly and through y,
    so x's backward must wait for y's (a topological order, not just a visiting order)."""
    leaf = Tensor(np.ones(2), requires_grad=True, dtype=F64)
    x = leaf * 2.0
    y = x * 3.0
    (x + y).sum().backward()  # z's parents: x first, then y
    np.testing.assert_allclose(leaf.grad, [8.0, 8.0])
    leaf.grad = None
    (y + x).sum().backward()
    np.testing.assert_allclose(leaf.grad, [8.0, 8.0])
