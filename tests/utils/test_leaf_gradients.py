"""How ``Tensor.backward`` stores a leaf's first gradient: kept as is when no one else holds it, copied otherwise.

The fast path (adopting the array an op's backward just made) must give the same
gradients as the plain path (always copying), and must never let two leaves, or a leaf
and the caller's seed gradient, share memory: an in-place change to one ``.grad`` would
silently change another.
"""
import sys

import numpy as np

import utils
from utils import Tensor, nn

tensor_module = sys.modules["utils.tensor"]


def leaf(rng, *shape):
    return Tensor(rng.standard_normal(shape), requires_grad=True, dtype=np.float64)


def test_a_seed_gradient_given_to_a_leaf_is_copied(rng):
    x = leaf(rng, 3, 2)
    seed = rng.standard_normal((3, 2))
    x.backward(seed)
    assert not np.shares_memory(x.grad, seed)
    x.grad *= 0  # the caller's array is untouched
    assert np.abs(seed).sum() > 0


def test_one_array_handed_to_two_leaves_is_not_shared(rng):
    a, b = leaf(rng, 4), leaf(rng, 4)
    (a + b).backward(np.ones(4))  # add passes the seed itself to both parents
    assert not np.shares_memory(a.grad, b.grad)
    a.grad += 1.0
    np.testing.assert_array_equal(b.grad, np.ones(4))
    a.grad = b.grad = None
    (a + b).sum().backward()  # sum makes a fresh array; add hands that one array to both
    assert not np.shares_memory(a.grad, b.grad)


def test_views_and_strided_gradients_are_copied_into_order(rng):
    x = leaf(rng, 3, 4)
    x.T.sum().backward()  # transpose's backward returns a view of a fresh array
    assert x.grad.flags.c_contiguous and x.grad.base is None
    w = leaf(rng, 3, 3, 2, 2)
    nn.conv2d(leaf(rng, 2, 3, 5, 5), w, None, 1, 1).sum().backward()  # a transposed weight gradient
    assert w.grad.flags.c_contiguous and w.grad.shape == w.shape


def test_a_fresh_gradient_is_adopted_and_the_probe_sees_other_holders():
    def probe():
        fresh = np.ones(3)
        alone = tensor_module._adoptable(fresh)
        other = fresh  # a second name
        shared = tensor_module._adoptable(fresh)
        del other
        return alone, shared, tensor_module._adoptable(np.ones((3, 3))[0]), tensor_module._adoptable(np.ones((3, 3)).T.copy(order="F"))

    alone, shared, view, fortran = probe()
    assert alone and not shared and not view and not fortran


def _train_steps(rng_seed: int):
    """Three Adam steps of a small model (conv, batch norm, linear, a residual add); returns every parameter."""
    np.random.seed(rng_seed)
    rng = np.random.default_rng(rng_seed)
    conv, bn, head = nn.Conv2d(2, 3, 3, padding=1), nn.BatchNorm2d(3), nn.Linear(3 * 4 * 4, 5)
    params = list(conv.parameters()) + list(bn.parameters()) + list(head.parameters())
    opt = utils.Adam(params, lr=1e-2)
    x = Tensor(rng.standard_normal((4, 2, 4, 4)))
    y = Tensor(rng.integers(0, 5, 4))
    for _ in range(3):
        h = bn(conv(x)).relu()
        h = h + h * 0.5  # one array reaches h through two paths
        loss = utils.cross_entropy(head(h.reshape(4, -1)), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return [p.numpy().copy() for p in params]


def test_adopting_gives_the_same_training_as_always_copying(monkeypatch):
    fast = _train_steps(0)
    monkeypatch.setattr(tensor_module, "_adoptable", lambda g: False)  # the plain twin: copy every time
    plain = _train_steps(0)
    for f, p in zip(fast, plain):
        np.testing.assert_array_equal(f, p)


def test_an_array_someone_keeps_is_copied(rng):
    x = leaf(rng, 5)
    kept = []
    grad = np.full(5, 2.0)

    def backward(g):
        kept.append(grad)
        return (grad,)  # hands out an array that stays referenced (by the closure and the list)

    Tensor._make(x.data * 2.0, (x,), backward, "keeps").sum().backward()
    assert not np.shares_memory(x.grad, grad)
    np.testing.assert_array_equal(x.grad, grad)
