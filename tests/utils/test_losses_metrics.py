"""Losses (forward against NumPy, gradcheck, stability, errors) and metrics."""
import numpy as np
import pytest

import utils
from utils import (BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, MSELoss, Tensor, accuracy, binary_cross_entropy,
                   binary_cross_entropy_with_logits, cross_entropy, gradcheck, mse, mse_loss)

F64 = np.float64


def t64(a, grad=False):
    return Tensor(np.array(a, dtype=F64), requires_grad=grad, dtype=F64)


def numpy_log_softmax(x, axis):
    x = x - x.max(axis=axis, keepdims=True)
    return x - np.log(np.exp(x).sum(axis=axis, keepdims=True))


def test_cross_entropy_integer_targets_matches_numpy(rng):
    x = rng.standard_normal((5, 4))
    y = np.array([0, 3, 1, 1, 2])
    expected = -numpy_log_softmax(x, 1)[np.arange(5), y]
    np.testing.assert_allclose(cross_entropy(t64(x), y, reduction="none").data, expected, rtol=1e-12)
    np.testing.assert_allclose(cross_entropy(t64(x), y).item(), expected.mean(), rtol=1e-12)
    np.testing.assert_allclose(CrossEntropyLoss(reduction="sum")(t64(x), y).item(), expected.sum(), rtol=1e-12)


def test_cross_entropy_probability_targets_and_smoothing(rng):
    x = rng.standard_normal((3, 4))
    y = np.array([2, 0, 3])
    onehot = np.eye(4)[y]
    np.testing.assert_allclose(cross_entropy(t64(x), onehot).item(), cross_entropy(t64(x), y).item(), rtol=1e-12)
    eps = 0.2
    q = onehot * (1 - eps) + eps / 4
    expected = -(q * numpy_log_softmax(x, 1)).sum(1).mean()
    np.testing.assert_allclose(cross_entropy(t64(x), y, label_smoothing=eps).item(), expected, rtol=1e-12)
    np.testing.assert_allclose(cross_entropy(t64(x), onehot, label_smoothing=eps).item(), expected, rtol=1e-12)


def test_cross_entropy_spatial_targets(rng):
    x = rng.standard_normal((2, 3, 4, 5))
    y = rng.integers(0, 3, size=(2, 4, 5))
    logp = numpy_log_softmax(x, 1)
    expected = -np.take_along_axis(logp, y[:, None], axis=1)[:, 0]
    np.testing.assert_allclose(cross_entropy(t64(x), y, reduction="none").data, expected, rtol=1e-12)


def test_cross_entropy_gradcheck(rng):
    x = t64(rng.standard_normal((3, 4)), True)
    gradcheck(lambda a: cross_entropy(a, np.array([1, 0, 3]), reduction="none"), x)
    gradcheck(lambda a: cross_entropy(a, np.array([1, 0, 3]), label_smoothing=0.1), x)
    p = t64(rng.dirichlet(np.ones(4), size=3), True)
    gradcheck(lambda a, b: cross_entropy(a, b), x, p)
    x4 = t64(rng.standard_normal((2, 3, 2)), True)
    gradcheck(lambda a: cross_entropy(a, np.array([[0, 2], [1, 1]])), x4)


def test_cross_entropy_is_stable_for_huge_logits():
    x = Tensor(np.array([[1000.0, -1000.0, 0.0]], dtype=np.float32), requires_grad=True)
    loss = cross_entropy(x, np.array([1]))
    loss.backward()
    assert np.isfinite(loss.item()) and abs(loss.item() - 2000.0) < 1e-2
    assert np.all(np.isfinite(x.grad))


def test_cross_entropy_errors():
    x = t64(np.zeros((3, 4)))
    with pytest.raises(IndexError, match="target value 4 is out of range for 4 classes"):
        cross_entropy(x, np.array([0, 4, 1]))
    with pytest.raises(IndexError, match="-1"):
        cross_entropy(x, np.array([0, -1, 1]))
    with pytest.raises(ValueError, match=r"\(3,\).*\(2,\)"):
        cross_entropy(x, np.array([0, 1]))
    with pytest.raises(ValueError, match=r"\(3, 4\).*\(3, 5\)"):
        cross_entropy(x, np.zeros((3, 5)))
    with pytest.raises(ValueError, match="reduction"):
        cross_entropy(x, np.array([0, 1, 2]), reduction="avg")


def test_mse_loss(rng):
    a, b = rng.standard_normal((3, 2)), rng.standard_normal((3, 2))
    np.testing.assert_allclose(mse_loss(t64(a), b).item(), ((a - b) ** 2).mean(), rtol=1e-12)
    np.testing.assert_allclose(MSELoss(reduction="sum")(t64(a), t64(b)).item(), ((a - b) ** 2).sum(), rtol=1e-12)
    x, y = t64(a, True), t64(b, True)
    gradcheck(lambda p, q: mse_loss(p, q, reduction="none"), x, y)
    with pytest.raises(ValueError, match=r"\(3,\).*\(3, 2\)"):
        mse_loss(t64(a), np.zeros(3))


def test_bce_and_bce_with_logits(rng):
    z = rng.standard_normal((4, 3)) * 3
    t = rng.random((4, 3))
    p = 1 / (1 + np.exp(-z))
    expected = -(t * np.log(p) + (1 - t) * np.log(1 - p))
    np.testing.assert_allclose(binary_cross_entropy(t64(p), t, reduction="none").data, expected, rtol=1e-10)
    np.testing.assert_allclose(binary_cross_entropy_with_logits(t64(z), t, reduction="none").data, expected, rtol=1e-10)
    np.testing.assert_allclose(BCELoss()(t64(p), t).item(), expected.mean(), rtol=1e-10)
    np.testing.assert_allclose(BCEWithLogitsLoss(reduction="sum")(t64(z), t).item(), expected.sum(), rtol=1e-10)
    zt, tt = t64(z, True), t64(t, True)
    pt = t64(0.2 + 0.6 * rng.random((4, 3)), True)  # away from 0 and 1, where 1 / (p (1 - p)) is steep
    gradcheck(lambda a, b: binary_cross_entropy_with_logits(a, b, reduction="none"), zt, tt)
    gradcheck(lambda a, b: binary_cross_entropy(a, b, reduction="none"), pt, tt)


def test_bce_extremes_are_finite():
    z = Tensor(np.array([800.0, -800.0], dtype=np.float32), requires_grad=True)
    loss = binary_cross_entropy_with_logits(z, np.array([0.0, 1.0]))
    loss.backward()
    assert abs(loss.item() - 800.0) < 1e-3 and np.all(np.isfinite(z.grad))
    p = binary_cross_entropy(Tensor(np.array([0.0, 1.0])), np.array([1.0, 0.0]), reduction="none")
    np.testing.assert_allclose(p.data, [100.0, 100.0])  # log clamped at -100 as in PyTorch
    with pytest.raises(ValueError, match="probabilities in \\[0, 1\\]"):
        binary_cross_entropy(Tensor(np.array([1.5])), np.array([1.0]))


def test_losses_match_torch(rng):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    x = rng.standard_normal((4, 5))
    y = np.array([4, 0, 2, 2])
    for eps in (0.0, 0.1):
        xt = t64(x, True)
        loss = cross_entropy(xt, y, label_smoothing=eps)
        loss.backward()
        tx = torch.tensor(x, requires_grad=True)
        tl = F.cross_entropy(tx, torch.tensor(y), label_smoothing=eps)
        tl.backward()
        np.testing.assert_allclose(loss.item(), tl.item(), rtol=1e-12)
        np.testing.assert_allclose(xt.grad, tx.grad.numpy(), rtol=1e-10, atol=1e-14)
    probs = rng.dirichlet(np.ones(5), size=4)
    np.testing.assert_allclose(cross_entropy(t64(x), probs).item(), F.cross_entropy(torch.tensor(x), torch.tensor(probs)).item(), rtol=1e-12)
    t = rng.random((4, 5))
    np.testing.assert_allclose(binary_cross_entropy_with_logits(t64(x), t).item(),
                               F.binary_cross_entropy_with_logits(torch.tensor(x), torch.tensor(t)).item(), rtol=1e-12)


def test_accuracy_and_mse():
    logits = np.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7], [0.6, 0.4]])
    y = np.array([1, 0, 0, 0])
    assert accuracy(logits, y) == 0.75
    assert accuracy(Tensor(logits), Tensor(y)) == 0.75
    assert accuracy(np.array([1, 0, 1, 0]), y) == 0.75
    assert isinstance(accuracy(logits, y), float)
    seq_logits = np.zeros((2, 3, 4))
    seq_logits[..., 2] = 1.0
    assert accuracy(seq_logits, np.array([[2, 2, 0], [2, 1, 2]])) == pytest.approx(4 / 6)
    with pytest.raises(ValueError, match=r"\(4, 'C'\).*\(3, 2\)"):
        accuracy(np.zeros((3, 2)), y)
    assert mse(Tensor(np.array([1.0, 2.0])), np.array([1.0, 4.0])) == 2.0


def test_accuracy_accepts_one_hot_targets_as_the_seed_did():
    scores = np.array([[2.0, 1.0, 0.0], [0.0, 3.0, 1.0], [0.0, 0.0, 5.0]])
    one_hot = np.eye(3)[[0, 1, 2]]
    assert accuracy(scores, one_hot) == 1.0  # was 0.667: entries compared one by one
    assert accuracy(scores, np.eye(3)[[0, 1, 1]]) == pytest.approx(2 / 3)
    assert accuracy(Tensor(scores), utils.one_hot([0, 2, 2], 3)) == pytest.approx(2 / 3)  # int64 one-hot Tensor
    assert accuracy(np.eye(3)[[0, 1, 1]].astype(np.int64), one_hot) == pytest.approx(2 / 3)  # one-hot predictions too
    seq = np.zeros((2, 4, 3))
    seq[..., 1] = 1.0
    assert accuracy(seq, np.eye(3)[[[1, 1, 0, 1], [1, 2, 1, 1]]]) == pytest.approx(6 / 8)
    # integer predictions of the targets' shape are still class indices, compared one by one
    assert accuracy(np.array([[0, 1], [1, 1]]), np.array([[0, 1], [1, 0]])) == 0.75
    with pytest.raises(ValueError, match="shape"):
        mse(np.zeros(3), np.zeros(2))


@pytest.mark.parametrize("classes", [5, 100])  # few classes reduce a transposed copy (_row_max); many, the rows
@pytest.mark.parametrize("eps", [0.0, 0.2])
def test_cross_entropy_class_indices_agree_with_one_hot_probabilities(rng, classes, eps):
    """Class indices of (N, C) logits take a path of their own; loss and gradient equal the one-hot path's."""
    x = rng.standard_normal((7, classes)) * 4
    y = rng.integers(0, classes, 7)
    onehot = np.eye(classes)[y]
    for reduction in ("none", "mean", "sum"):
        a, b = t64(x), t64(x)
        a.requires_grad = b.requires_grad = True
        la = cross_entropy(a, y, reduction=reduction, label_smoothing=eps)
        lb = cross_entropy(b, onehot, reduction=reduction, label_smoothing=eps)
        np.testing.assert_allclose(la.data, lb.data, rtol=1e-12)
        weights = np.linspace(0.5, 2.0, 7) if reduction == "none" else 1.0
        (la * Tensor(weights)).sum().backward()
        (lb * Tensor(weights)).sum().backward()
        np.testing.assert_allclose(a.grad, b.grad, rtol=1e-12, atol=1e-15)
    f32 = cross_entropy(Tensor(x.astype(np.float32)), y, label_smoothing=eps)
    assert f32.dtype == np.float32
