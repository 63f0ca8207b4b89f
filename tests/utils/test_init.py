"""``utils.nn.init``: PyTorch's initialisers, in place, with the right scale, seeded, any device."""
import math

import numpy as np
import pytest

from utils import Tensor, asnumpy, nn
from utils.nn import init

SHAPE = (300, 200)  # fan_in 200, fan_out 300: large enough for tight moment checks
FAN_IN, FAN_OUT = 200, 300


def _weight(shape=SHAPE, dtype=np.float32, device="cpu"):
    return nn.Parameter(np.zeros(shape), dtype=dtype, device=device)


def _std_of_uniform(bound):
    return bound / math.sqrt(3.0)


# (name, call, expected std, expected mean, uniform bound or None)
RELU_GAIN = math.sqrt(2.0)
CASES = [
    ("uniform_", lambda w: init.uniform_(w, -0.3, 0.3), _std_of_uniform(0.3), 0.0, 0.3),
    ("normal_", lambda w: init.normal_(w, 0.5, 0.2), 0.2, 0.5, None),
    ("xavier_uniform_", lambda w: init.xavier_uniform_(w), math.sqrt(2.0 / (FAN_IN + FAN_OUT)), 0.0,
     math.sqrt(6.0 / (FAN_IN + FAN_OUT))),
    ("xavier_normal_ tanh gain", lambda w: init.xavier_normal_(w, gain=init.calculate_gain("tanh")),
     5.0 / 3.0 * math.sqrt(2.0 / (FAN_IN + FAN_OUT)), 0.0, None),
    ("kaiming_uniform_ relu", lambda w: init.kaiming_uniform_(w, nonlinearity="relu"), RELU_GAIN / math.sqrt(FAN_IN), 0.0,
     RELU_GAIN * math.sqrt(3.0 / FAN_IN)),
    ("kaiming_normal_ relu fan_out", lambda w: init.kaiming_normal_(w, mode="fan_out", nonlinearity="relu"),
     RELU_GAIN / math.sqrt(FAN_OUT), 0.0, None),
    ("kaiming_normal_ default leaky_relu a=0", lambda w: init.kaiming_normal_(w), RELU_GAIN / math.sqrt(FAN_IN), 0.0, None),
]


@pytest.mark.parametrize("name, call, std, mean, bound", CASES, ids=[c[0] for c in CASES])
def test_initialisers_have_pytorchs_scale(name, call, std, mean, bound, device):
    w = _weight(device=device)
    np.random.seed(0)
    assert call(w) is w  # in place, returns its argument
    values = asnumpy(w.data).astype(np.float64)
    assert w.dtype == np.float32 and w.device == device and w.requires_grad
    assert abs(values.std() - std) < 0.03 * std, f"{name}: std {values.std():.5f}, expected {std:.5f}"
    assert abs(values.mean() - mean) < 0.03 * std + 1e-9
    if bound is not None:
        assert np.abs(values).max() <= bound * (1 + 1e-6) and np.abs(values).max() > 0.95 * bound


def test_constant_zeros_ones_and_dtype_is_kept():
    w = _weight((3, 4), dtype=np.float64)
    init.constant_(w, 0.25)
    assert w.dtype == np.float64 and np.all(w.numpy() == 0.25)
    assert np.all(init.ones_(w).numpy() == 1.0) and np.all(init.zeros_(w).numpy() == 0.0)


def test_seeded_by_numpy_or_by_a_generator():
    a, b = _weight((5, 6)), _weight((5, 6))
    np.random.seed(3)
    init.kaiming_uniform_(a)
    np.random.seed(3)
    init.kaiming_uniform_(b)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    init.xavier_normal_(a, generator=np.random.default_rng(1))
    init.xavier_normal_(b, generator=np.random.default_rng(1))
    np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_fans_of_linear_conv_and_recurrent_weights():
    assert init.fan_in_and_fan_out((8, 3)) == (3, 8)
    assert init.fan_in_and_fan_out((16, 3, 5, 5)) == (75, 400)
    assert init.fan_in_of(nn.Conv2d(3, 16, 5).weight.shape) == 75
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        init.xavier_uniform_(_weight((4,)))


def test_calculate_gain_matches_pytorch_values():
    assert init.calculate_gain("linear") == 1.0 and init.calculate_gain("sigmoid") == 1.0
    assert init.calculate_gain("tanh") == pytest.approx(5.0 / 3.0)
    assert init.calculate_gain("relu") == pytest.approx(math.sqrt(2.0))
    assert init.calculate_gain("leaky_relu") == pytest.approx(math.sqrt(2.0 / (1 + 0.01 ** 2)))
    assert init.calculate_gain("leaky_relu", 0.2) == pytest.approx(math.sqrt(2.0 / 1.04))
    assert init.calculate_gain("selu") == 0.75
    with pytest.raises(ValueError, match="unsupported nonlinearity"):
        init.calculate_gain("swish")
    with pytest.raises(ValueError, match="mode"):
        init.kaiming_normal_(_weight((3, 4)), mode="fan_avg")


def test_calculate_gain_agrees_with_torch():
    torch = pytest.importorskip("torch", reason="torch is not installed (pip install torch==2.13.0)")
    for name in ("linear", "conv2d", "sigmoid", "tanh", "relu", "leaky_relu", "selu"):
        assert init.calculate_gain(name) == pytest.approx(torch.nn.init.calculate_gain(name)), name


@pytest.mark.parametrize("shape", [(4, 9), (9, 4), (6, 2, 3)])
def test_orthogonal_rows_or_columns_are_orthonormal(shape):
    w = _weight(shape, dtype=np.float64)
    np.random.seed(0)
    init.orthogonal_(w, gain=2.0)
    m = w.numpy().reshape(shape[0], -1) / 2.0
    small = m @ m.T if m.shape[0] <= m.shape[1] else m.T @ m
    np.testing.assert_allclose(small, np.eye(len(small)), atol=1e-12)


def test_choosing_an_initialiser_for_a_whole_model():
    model = nn.Sequential(nn.Linear(20, 30), nn.ReLU(), nn.Linear(30, 5))

    def init_weights(m):
        if isinstance(m, nn.Linear):
            init.kaiming_normal_(m.weight, nonlinearity="relu")
            init.zeros_(m.bias)

    np.random.seed(0)
    model.apply(init_weights)
    assert all(np.all(m.bias.numpy() == 0) for m in model.modules() if isinstance(m, nn.Linear))
    assert model[0].weight.numpy().std() > 1.2 / math.sqrt(20)  # He scale sqrt(2/20), not the default 1/sqrt(3*20)


def test_refuses_what_is_not_a_tensor():
    with pytest.raises(TypeError, match="Tensor or Parameter"):
        init.zeros_(np.zeros(3))
    assert isinstance(init.uniform_fan_in((2, 3), 3), Tensor)


@pytest.mark.parametrize("method,params", [("uniform", (-0.3, 0.3)), ("normal", (0.0, 2.0))])
@pytest.mark.parametrize("source", ["legacy", "generator"])
def test_block_draws_equal_one_whole_draw(monkeypatch, method, params, source):
    """Weights are drawn a block at a time (no float64 copy of a large weight); the values are those of one draw."""
    monkeypatch.setattr(init, "DRAW_BLOCK", 7)  # 7 does not divide 5 * 6: the last block is short

    def make():
        return np.random.RandomState(4) if source == "legacy" else np.random.default_rng(4)

    whole = getattr(make(), method)(*params, size=(5, 6)).astype(np.float32)
    blocks = init._draw(make(), method, (5, 6), np.float32, *params)
    assert blocks.dtype == np.float32 and blocks.shape == (5, 6)
    np.testing.assert_array_equal(blocks, whole)
    np.random.seed(2)
    layer = nn.Linear(6, 5)
    np.random.seed(2)
    bound = 1 / math.sqrt(6)
    np.testing.assert_array_equal(layer.weight.numpy(), np.random.uniform(-bound, bound, size=(5, 6)).astype(np.float32))
