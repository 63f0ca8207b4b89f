"""How ``Tensor.backward`` stores a leaf's first gradient: kept as is only when no one else holds it.

Whatever the engine keeps without copying (what a ``fresh_gradients`` backward made), it
must never let two leaves, or a leaf and the caller's seed gradient, or a leaf and an
array an op keeps, share memory: an in-place change to one ``.grad`` would silently
change another.
"""
import numpy as np

from utils import Tensor, nn
from utils.losses import cross_entropy
from utils.nn.linear import linear


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


def test_gradients_the_fused_ops_hand_over_fresh_share_nothing(rng):
    """Linear and class-index cross-entropy mark their gradients fresh: the leaves keep them uncopied, so
    none may share memory with another leaf's gradient, with any leaf's data, or with the seed."""
    x, w, b = leaf(rng, 6, 4), leaf(rng, 3, 4), leaf(rng, 3)
    seed = rng.standard_normal((6, 3))
    linear(x, w, b).backward(seed)
    scores = leaf(rng, 6, 5)
    cross_entropy(scores, np.array([0, 4, 2, 2, 1, 3]), reduction="none").backward(seed[:, 0].copy())
    arrays = [x.grad, w.grad, b.grad, scores.grad, x.data, w.data, b.data, scores.data, seed]
    for i, p in enumerate(arrays):
        for q in arrays[i + 1:]:
            assert not np.shares_memory(p, q)
    before = w.grad.copy()
    x.grad += 1.0
    b.grad += 1.0
    np.testing.assert_array_equal(w.grad, before)
