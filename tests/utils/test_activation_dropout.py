"""Activations (functional and Module) and Dropout."""
import numpy as np
import pytest
from scipy.special import erf

import utils.nn as nn
from utils import Tensor, gradcheck

# x values away from 0 so finite differences never straddle a kink
X = np.concatenate([np.linspace(-3.0, -0.1, 7), np.linspace(0.1, 3.0, 7)]).reshape(2, 7)

REFERENCES = {
    "ReLU": (nn.ReLU(), lambda x: np.maximum(x, 0)),
    "GELU": (nn.GELU(), lambda x: 0.5 * x * (1 + erf(x / np.sqrt(2)))),
    "GELU-tanh": (nn.GELU("tanh"), lambda x: 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))),
    "Tanh": (nn.Tanh(), np.tanh),
    "Sigmoid": (nn.Sigmoid(), lambda x: 1 / (1 + np.exp(-x))),
    "LeakyReLU": (nn.LeakyReLU(0.2), lambda x: np.where(x > 0, x, 0.2 * x)),
    "LeakyReLU-default": (nn.LeakyReLU(), lambda x: np.where(x > 0, x, 0.01 * x)),
    "ELU": (nn.ELU(0.7), lambda x: np.where(x > 0, x, 0.7 * (np.exp(x) - 1))),
    "Softmax": (nn.Softmax(dim=0), lambda x: np.exp(x) / np.exp(x).sum(axis=0, keepdims=True)),
}


@pytest.mark.parametrize("name", list(REFERENCES))
def test_activation_forward_and_gradcheck(name):
    layer, reference = REFERENCES[name]
    out = layer(X.astype(np.float32))
    assert out.dtype == np.float32 and out.shape == X.shape
    np.testing.assert_allclose(out.numpy(), reference(X), rtol=1e-5, atol=1e-6)
    x = Tensor(X, requires_grad=True, dtype=np.float64)
    gradcheck(lambda x: layer(x), x)


def test_functional_leaky_relu_and_elu():
    x = Tensor(X, requires_grad=True, dtype=np.float64)
    gradcheck(lambda x: nn.leaky_relu(x, 0.3), x)
    gradcheck(lambda x: nn.elu(x, 2.0), x)
    big = nn.elu(Tensor(np.array([-1000.0, 1000.0])))  # no overflow warning, no NaN
    np.testing.assert_allclose(big.numpy(), [-1.0, 1000.0])


def test_softmax_rows_sum_to_one_and_bad_dim():
    out = nn.Softmax()(np.arange(12.0).reshape(3, 4) * 100)
    np.testing.assert_allclose(out.numpy().sum(-1), 1.0, rtol=1e-6)
    with pytest.raises(ValueError, match=r"Softmax\(dim=2\).*\(3, 4\)"):
        nn.Softmax(dim=2)(np.zeros((3, 4)))
    with pytest.raises(ValueError, match="approximate"):
        nn.GELU("fast")


def test_activations_against_torch():
    torch = pytest.importorskip("torch")
    pairs = [(nn.GELU(), torch.nn.GELU()), (nn.GELU("tanh"), torch.nn.GELU("tanh")), (nn.ELU(0.5), torch.nn.ELU(0.5)),
             (nn.LeakyReLU(0.1), torch.nn.LeakyReLU(0.1)), (nn.Softmax(1), torch.nn.Softmax(1))]
    g = np.random.default_rng(0).standard_normal(X.shape)
    for ours, ref in pairs:
        xo, xt = Tensor(X, requires_grad=True, dtype=np.float64), torch.tensor(X, requires_grad=True)
        out, ref_out = ours(xo), ref(xt)
        out.backward(g)
        ref_out.backward(torch.from_numpy(g))
        np.testing.assert_allclose(out.numpy(), ref_out.detach().numpy(), rtol=1e-10, atol=1e-12, err_msg=repr(ours))
        np.testing.assert_allclose(xo.grad, xt.grad.numpy(), rtol=1e-10, atol=1e-12, err_msg=repr(ours))


# ---------------------------------------------------------------- dropout
def test_dropout_eval_is_identity_and_p0_is_identity(rng):
    x = Tensor(rng.standard_normal((4, 5)))
    layer = nn.Dropout(0.5).eval()
    assert layer(x) is x
    assert nn.dropout(x, 0.0, training=True) is x
    assert nn.dropout(x, 0.9, training=False) is x


def test_dropout_train_zeroes_p_and_scales_survivors():
    np.random.seed(0)
    x = np.ones((200, 500), dtype=np.float32)
    out = nn.Dropout(0.3)(x).numpy()
    assert out.dtype == np.float32
    np.testing.assert_allclose(np.unique(out), [0.0, 1 / 0.7], rtol=1e-6)
    assert abs((out == 0).mean() - 0.3) < 0.01  # p is the DROP probability
    assert abs(out.mean() - 1.0) < 0.01  # inverted scaling keeps the mean


def test_dropout_gradient_uses_the_same_mask(rng):
    np.random.seed(1)
    x = Tensor(rng.standard_normal((6, 7)), requires_grad=True, dtype=np.float64)
    out = nn.dropout(x, 0.4)
    out.backward(np.ones(x.shape))
    kept = out.numpy() != 0
    np.testing.assert_allclose(x.grad, kept / 0.6)
    np.testing.assert_allclose(out.numpy(), x.numpy() * kept / 0.6)


def test_dropout_is_seeded_by_numpy():
    np.random.seed(5)
    a = nn.dropout(np.ones(50), 0.5).numpy()
    np.random.seed(5)
    b = nn.dropout(np.ones(50), 0.5).numpy()
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("p", [-0.1, 1.0, 1.5])
def test_dropout_rejects_bad_p(p):
    with pytest.raises(ValueError, match=r"\[0, 1\).*" + str(p)):
        nn.Dropout(p)
    with pytest.raises(ValueError, match=r"\[0, 1\)"):
        nn.dropout(np.ones(3), p)


# ---------------------------------------------------------------------- GELU's two kernels
def _tensor_module():
    import importlib

    return importlib.import_module("utils.tensor")  # (utils.tensor is also the function tensor())


@pytest.mark.parametrize("kernel", ["gelu_poly", "gelu_erf"])
def test_gelu_gradcheck_each_kernel(monkeypatch, kernel):
    module = _tensor_module()
    monkeypatch.setattr(module, "gelu_route", lambda a: getattr(module, kernel))
    x = Tensor(X, requires_grad=True, dtype=np.float64)
    gradcheck(lambda x: nn.GELU()(x), x)
    gradcheck(lambda x: x.gelu() * x, x)


@pytest.mark.parametrize("dtype, tol", [(np.float32, 6e-7), (np.float64, 3e-7)])
def test_gelu_poly_matches_gelu_erf(dtype, tol):
    """The polynomial Phi agrees with SciPy's erf to float32 rounding, tails, zeros and strides included."""
    module = _tensor_module()
    a = np.random.default_rng(0).standard_normal(20000) * 4
    a[:7] = [0.0, -0.0, 1e-30, -40.0, 40.0, -5.5, 6.0]
    a = a.astype(dtype)
    for arr in (a, a[::3], a.reshape(100, 200)[:, 5:9]):
        (out, slope), (ref_out, ref_slope) = module.gelu_poly(arr), module.gelu_erf(arr)
        assert out.dtype == slope.dtype == dtype and out.shape == arr.shape
        np.testing.assert_allclose(out, ref_out, rtol=tol, atol=tol)
        np.testing.assert_allclose(slope, ref_slope, rtol=tol, atol=tol)
    assert module.gelu_route(a.astype(np.float32)) is module.gelu_poly
    assert module.gelu_route(a.astype(np.float64)) is module.gelu_erf
