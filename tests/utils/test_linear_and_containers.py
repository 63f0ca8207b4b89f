"""Linear, Flatten, Identity, Sequential, ModuleList and the default initialisation."""
from collections import OrderedDict

import numpy as np
import pytest

import utils.nn as nn
from utils import Tensor, gradcheck
from utils.nn.init import fan_in_of, uniform_fan_in


def t64(rng, *shape, requires_grad=True):
    return Tensor(rng.standard_normal(shape), requires_grad=requires_grad, dtype=np.float64)


# ---------------------------------------------------------------- linear
def test_linear_gradcheck_every_input(rng):
    x, w, b = t64(rng, 2, 3, 4), t64(rng, 5, 4), t64(rng, 5)
    gradcheck(lambda x, w, b: nn.linear(x, w, b), x, w, b)
    gradcheck(lambda x, w: nn.linear(x, w), x, w)


def test_linear_forward_matches_loop(rng, device):
    layer = nn.Linear(4, 3, device=device)
    x = rng.standard_normal((6, 4)).astype(np.float32)
    w, b = layer.weight.numpy(), layer.bias.numpy()
    expected = np.array([[sum(x[n, i] * w[o, i] for i in range(4)) + b[o] for o in range(3)] for n in range(6)])
    out = layer(x)
    assert out.shape == (6, 3) and out.dtype == np.float32 and out.device == device
    np.testing.assert_allclose(out.numpy(), expected, rtol=1e-5, atol=1e-6)


def test_linear_module_gradcheck_parameters(rng):
    layer = nn.Linear(3, 2).double()
    x = t64(rng, 4, 3)
    gradcheck(lambda x, w, b: layer(x), x, layer.weight, layer.bias)


def test_linear_layout_and_init_bounds():
    np.random.seed(0)
    layer = nn.Linear(100, 7)
    assert layer.weight.shape == (7, 100) and layer.bias.shape == (7,)
    assert list(dict(layer.named_parameters())) == ["weight", "bias"]
    bound = 1 / np.sqrt(100)
    for p in (layer.weight, layer.bias):
        assert np.abs(p.numpy()).max() <= bound
    assert np.abs(layer.weight.numpy()).max() > 0.9 * bound  # the whole interval is used
    assert nn.Linear(3, 2, bias=False).bias is None


def test_init_is_seeded_by_numpy_and_rng():
    np.random.seed(3)
    a = nn.Linear(5, 4).weight.numpy()
    np.random.seed(3)
    b = nn.Linear(5, 4).weight.numpy()
    np.testing.assert_array_equal(a, b)
    c = uniform_fan_in((4, 5), 5, rng=np.random.default_rng(1))
    d = uniform_fan_in((4, 5), 5, rng=np.random.default_rng(1), dtype=np.float64)
    np.testing.assert_allclose(c.numpy(), d.numpy(), rtol=1e-6)
    assert c.dtype == np.float32 and d.dtype == np.float64
    assert fan_in_of((8, 3, 5, 5)) == 75
    with pytest.raises(ValueError, match="fan_in"):
        uniform_fan_in((2,), 0)


def test_linear_errors_name_expected_and_received():
    layer = nn.Linear(4, 3)
    with pytest.raises(ValueError, match=r"Linear\(in_features=4.*\(\*, 4\).*\(2, 5\)"):
        layer(np.zeros((2, 5)))
    with pytest.raises(TypeError, match="float32.*float64"):
        layer(Tensor(np.zeros((2, 4)), dtype=np.float64))
    with pytest.raises(ValueError, match=r"linear: .*\(\*, 4\).*\(3,\)"):
        nn.linear(Tensor(np.zeros(3)), layer.weight)


def test_flatten_and_identity(rng):
    x = t64(rng, 2, 3, 4, 5)
    assert nn.Flatten()(x).shape == (2, 60)
    assert nn.Flatten(0, 2)(x).shape == (24, 5)
    assert nn.Flatten(2)(x).shape == (2, 3, 20)
    gradcheck(lambda x: nn.Flatten()(x) * 2.0, x)
    assert nn.Identity()(x) is x


# ---------------------------------------------------------------- containers
def test_sequential_runs_in_order_and_names_children(rng):
    seq = nn.Sequential(nn.Linear(4, 8), nn.Identity(), nn.Linear(8, 2))
    assert len(seq) == 3 and isinstance(seq[-1], nn.Linear) and seq[0] is list(seq)[0]
    assert list(seq.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    x = rng.standard_normal((5, 4)).astype(np.float32)
    manual = seq[2](seq[0](x))
    np.testing.assert_allclose(seq(x).numpy(), manual.numpy(), rtol=1e-6)
    sub = seq[1:]
    assert isinstance(sub, nn.Sequential) and len(sub) == 2 and sub[1] is seq[2]
    seq.append(nn.Identity())
    assert len(seq) == 4
    with pytest.raises(IndexError, match="index 7 is out of range for 4"):
        seq[7]
    with pytest.raises(TypeError, match="must be a Module"):
        nn.Sequential(nn.Identity(), lambda x: x)


def test_sequential_from_ordereddict_and_gradcheck(rng):
    seq = nn.Sequential(OrderedDict([("fc", nn.Linear(3, 4)), ("flat", nn.Flatten()), ("out", nn.Linear(4, 1))])).double()
    assert list(dict(seq.named_parameters())) == ["fc.weight", "fc.bias", "out.weight", "out.bias"]
    x = t64(rng, 2, 3)
    gradcheck(lambda x, *p: seq(x), x, *seq.parameters())


def test_module_list_registers_parameters():
    blocks = nn.ModuleList([nn.Linear(2, 2) for _ in range(3)])
    assert len(blocks) == 3
    assert [k for k, _ in blocks.named_parameters()][:2] == ["0.weight", "0.bias"]
    blocks.append(nn.Linear(2, 1))
    blocks[0] = nn.Linear(2, 2, bias=False)
    assert len(list(blocks.parameters())) == 7
    assert isinstance(blocks[1:], nn.ModuleList) and len(blocks[1:]) == 3
    with pytest.raises(TypeError, match="must be a Module"):
        blocks.append("not a module")


def test_linear_against_torch(rng):
    torch = pytest.importorskip("torch")
    layer = nn.Linear(4, 3).double()
    ref = torch.nn.Linear(4, 3).double()
    ref.load_state_dict({k: torch.from_numpy(v) for k, v in layer.state_dict().items()})
    x = rng.standard_normal((2, 5, 4))
    ours = Tensor(x, requires_grad=True, dtype=np.float64)
    theirs = torch.tensor(x, requires_grad=True)
    out, ref_out = layer(ours), ref(theirs)
    np.testing.assert_allclose(out.numpy(), ref_out.detach().numpy(), rtol=1e-12)
    g = rng.standard_normal(out.shape)
    out.backward(g)
    ref_out.backward(torch.from_numpy(g))
    np.testing.assert_allclose(ours.grad, theirs.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(layer.weight.grad, ref.weight.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(layer.bias.grad, ref.bias.grad.numpy(), rtol=1e-12)


# ---------------------------------------------------------------- zero_grad
def _all_grads_set(model):
    for p in model.parameters():
        p.grad = np.ones(p.shape)


def test_zero_grad_clears_nested_and_shared_parameters():
    inner = nn.Linear(3, 3)
    model = nn.Sequential(nn.Linear(2, 3), nn.ModuleList([inner, nn.Sequential(inner)]), nn.LayerNorm(3))
    model.add_module("extra", nn.Linear(3, 1))
    _all_grads_set(model)
    model.zero_grad()
    assert [name for name, p in model.named_parameters() if p.grad is not None] == []


def test_zero_grad_follows_an_overridden_parameter_list():
    """A module that hides parameters from ``named_parameters`` keeps their gradients (as PyTorch's zero_grad)."""

    class HidesNorm(nn.Module):
        def __init__(self):
            super().__init__()
            self.inner = nn.Sequential(nn.Linear(2, 2), nn.LayerNorm(2))

        def named_parameters(self, prefix=""):
            return ((n, p) for n, p in super().named_parameters(prefix) if ".1." not in n)

    for model in (HidesNorm(), nn.Sequential(HidesNorm())):
        everything = [p for m in model.modules() for p in m._parameters.values()]
        for p in everything:
            p.grad = np.ones(p.shape)
        listed = {id(p) for p in model.parameters()}  # the outer Sequential lists them all again
        model.zero_grad()
        assert [p.grad is None for p in everything] == [id(p) in listed for p in everything]
    assert len(listed) == 4 and len(everything) == 4  # (the nested case: nothing hidden)
    assert len({id(p) for p in HidesNorm().parameters()}) == 2


def test_load_state_dict_writes_in_place_with_each_parameters_dtype():
    """As PyTorch's ``copy_``: the parameter keeps its array (no second copy of a large weight) and its dtype;
    the caller's array is copied, not shared; a read-only parameter array is replaced instead."""
    layer = nn.Linear(3, 2).to(dtype=np.float64)
    weight_array = layer.weight.data
    given = {"weight": np.arange(6, dtype=np.float32).reshape(2, 3), "bias": np.array([1.5, -2.0], dtype=np.float32)}
    layer.load_state_dict(given)
    assert layer.weight.data is weight_array and layer.weight.dtype == np.float64
    np.testing.assert_array_equal(layer.weight.numpy(), given["weight"])
    given["weight"][0, 0] = 99.0
    assert layer.weight.numpy()[0, 0] == 0.0, "the parameter shares memory with the state dict it was loaded from"
    layer.bias.data = np.broadcast_to(np.float64(0.0), (2,))  # read-only
    layer.load_state_dict(given)
    np.testing.assert_array_equal(layer.bias.numpy(), [1.5, -2.0])
    assert layer.bias.data.flags.writeable
