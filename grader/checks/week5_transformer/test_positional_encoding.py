"""Hidden checks for Exercise 1, ``positional_encoding`` (2 points): sizes the visible check
does not use, a single position, odd widths and long tables at float64 precision."""
import numpy as np
import pytest

from grader.checks.support import array, close
from utils.nn.embedding import sinusoidal_table

pytestmark = pytest.mark.grade_cell("pe_tests")


@pytest.mark.points(1)
def test_small_and_odd_sizes(student):
    """Other sizes: a single position, d_model=2, and an odd d_model=33, each returned as a NumPy array"""
    for max_len, d_model in ((1, 4), (9, 2), (20, 33)):
        answer = student.call_with("positional_encoding", (max_len, d_model), inspect=True)
        assert answer["output_type"] == "ndarray", f"positional_encoding returned a {answer['output_type']}, not a NumPy array"
        pe = array(answer["outputs"])
        assert pe.shape == (max_len, d_model), f"wrong shape for max_len={max_len}, d_model={d_model}"
        assert close(pe, sinusoidal_table(max_len, d_model), rtol=1e-5, atol=1e-6), \
            f"wrong values for max_len={max_len}, d_model={d_model}"


@pytest.mark.points(1)
def test_long_table_precision(student):
    """Long table: 500 positions of width 64 match to float precision (the frequencies and phases are right far from 0)"""
    pe = array(student.call("positional_encoding", 500, 64))
    ref = sinusoidal_table(500, 64)
    assert pe.shape == ref.shape, "wrong shape for max_len=500, d_model=64"
    assert close(pe, ref, rtol=1e-4, atol=2e-5), "wrong values at large positions (check the angle pos / 10000**(2i / d_model))"
