"""Hidden checks for Exercise 3a, ``split_heads`` and ``merge_heads`` (2 points).

Other shapes than the visible check (batch of one, one head, width-one heads), float64, and
gradients flowing back through both functions.
"""
import numpy as np
import pytest

from grader.checks.support import array, waves
from grader.sandbox import AsTensor

pytestmark = pytest.mark.grade_cell("heads_tests")


def split_ref(x, h):
    N, T, D = x.shape
    return x.reshape(N, T, h, D // h).transpose(0, 2, 1, 3)  # (N, h, T, d)


@pytest.mark.points(1)
def test_other_shapes_and_round_trip(student):
    """Other shapes: batch of one, one head, width-one heads; merge_heads undoes split_heads"""
    for shape, h in (((1, 5, 12), 3), ((3, 2, 8), 1), ((2, 4, 6), 6)):
        x = waves(shape, 0.3, np.float64)
        got = array(student.call("split_heads", AsTensor(x), h))
        want = split_ref(x, h)
        assert got.shape == want.shape, f"split_heads gives the wrong shape for {len(shape)}-axis input with {h} head(s)"
        assert np.allclose(got, want, rtol=0, atol=1e-12), \
            "split_heads puts the wrong values in the heads (reshape to (N, T, h, d), then swap axes 1 and 2)"
        back = array(student.call("merge_heads", AsTensor(want)))
        assert back.shape == x.shape, "merge_heads gives the wrong shape"
        assert np.allclose(back, x, rtol=0, atol=1e-12), "merge_heads does not undo split_heads"


@pytest.mark.points(1)
def test_gradients_flow(student):
    """Gradients: backward through split_heads and merge_heads routes every entry back to where it came from"""
    x = waves((2, 3, 8), 0.9, np.float64)
    up = waves((2, 4, 3, 2), 1.7, np.float64)
    reply = student.call_with("split_heads", [AsTensor(x, requires_grad=True), 4], backward=up)
    g = reply["input_grads"][0]
    assert g is not None, "no gradient reached split_heads' input: use Tensor methods (reshape, transpose), not NumPy"
    assert np.allclose(array(g), up.transpose(0, 2, 1, 3).reshape(2, 3, 8), atol=1e-12), "split_heads' gradient is wrong"
    up2 = waves((2, 3, 8), 2.2, np.float64)
    reply = student.call_with("merge_heads", [AsTensor(split_ref(x, 4), requires_grad=True)], backward=up2)
    g = reply["input_grads"][0]
    assert g is not None, "no gradient reached merge_heads' input: use Tensor methods (reshape, transpose), not NumPy"
    assert np.allclose(array(g), split_ref(up2, 4), atol=1e-12), "merge_heads' gradient is wrong"
