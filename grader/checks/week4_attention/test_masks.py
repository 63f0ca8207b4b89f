"""Hidden checks for Exercise 2, ``causal_mask`` and ``padding_mask`` (2 points).

The visible check uses T=4 and lengths [3, 1, 5]; these use a length-1 sequence, a long one,
a batch of one, a full-length row, and lengths passed as a list and as a Tensor.
"""
import numpy as np
import pytest

from grader.sandbox import AsTensor

pytestmark = pytest.mark.grade_cell("masks_tests")


def as_bool(value, what):
    arr = np.asarray(value)
    assert arr.dtype == bool, f"{what} must be a boolean array (True = may attend)"
    return arr


@pytest.mark.points(1)
def test_causal_mask_other_sizes(student):
    """causal_mask: sizes 1 and 9 give the lower triangle with the diagonal, as booleans"""
    for T in (1, 9):
        m = as_bool(student.call("causal_mask", T), "causal_mask's result")
        assert m.shape == (T, T), f"causal_mask({T}) has the wrong shape"
        assert np.array_equal(m, np.tril(np.ones((T, T), dtype=bool))), \
            f"causal_mask({T}) is wrong: query i may attend exactly to keys 0..i (True = may attend)"


@pytest.mark.points(1)
def test_padding_mask_other_batches(student):
    """padding_mask: a batch of one, a row with no padding, lengths given as a list and as a Tensor"""
    for lengths, max_len in (([4], 7), ([7, 1, 4, 2], 7), ([2, 2], 2)):
        m = as_bool(student.call("padding_mask", lengths, max_len), "padding_mask's result")
        assert m.shape == (len(lengths), max_len), f"padding_mask must return (N, max_len) = {(len(lengths), max_len)}"
        want = np.arange(max_len)[None, :] < np.asarray(lengths)[:, None]
        assert np.array_equal(m, want), "padding_mask is wrong: True at positions 0..length-1 (real tokens), False after"
    m = as_bool(student.call("padding_mask", AsTensor(np.array([2, 5, 3])), 6), "padding_mask's result for Tensor lengths")
    assert m.shape == (3, 6) and np.array_equal(m, np.arange(6)[None, :] < np.array([2, 5, 3])[:, None]), \
        "lengths given as a Tensor gave a wrong mask: take lengths.numpy() first"
