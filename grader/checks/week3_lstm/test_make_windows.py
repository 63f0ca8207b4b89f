"""Hidden checks for Exercise 2, ``make_windows`` (2 points).

The visible check uses 11-12 steps, seq_len 3-4 and float32; these use three features,
a long horizon, a single window, windows of one step, and float64.
"""
import numpy as np
import pytest

from grader.checks.support import close, pair
from grader.checks.week3_lstm.reference import windows_reference

pytestmark = pytest.mark.grade_cell("make_windows_tests")
FN = "make_windows"


def run(student, series, seq_len, horizon):
    X, y = pair(student.call(FN, series, seq_len, horizon), "(X, y)")
    if X is None or y is None:
        raise AssertionError("make_windows returned None instead of arrays")
    return np.asarray(X), np.asarray(y)


@pytest.mark.points(1)
def test_other_shapes_and_horizons(student):
    """Other shapes: three features with horizon 4, a series that holds exactly one window, and windows of one step"""
    t = np.arange(20, dtype=np.float32)
    multi = np.stack([t, -2 * t + 1, np.sin(t)], axis=1)  # (20, 3)
    cases = (("three features, horizon 4", multi, 5, 4), ("exactly one window", np.cos(np.arange(9, dtype=np.float32)), 8, 1),
             ("windows of one step", multi[:7], 1, 2))
    for label, series, seq_len, horizon in cases:
        X, y = run(student, series.copy(), seq_len, horizon)
        ref_X, ref_y = windows_reference(series, seq_len, horizon)
        assert X.shape == ref_X.shape, f"X has the wrong shape ({label}): expected (N, seq_len, features)"
        assert y.shape == ref_y.shape, f"y has the wrong shape ({label}): expected (N, features)"
        assert close(X, ref_X, 0, 0), f"wrong windows ({label})"
        assert close(y, ref_y, 0, 0), f"wrong targets ({label}): y[n] = series[n + seq_len + horizon - 1]"


@pytest.mark.points(1)
def test_float64_kept_and_input_untouched(student):
    """float64: a float64 series gives float64 windows with exact values, and the input is not modified"""
    series = (np.linspace(0, 1, 15)[:, None] * np.array([1.0, 1e-9 + 1.0]) + 1e-12).astype(np.float64)  # (15, 2)
    X, y = run(student, series.copy(), 4, 2)
    ref_X, ref_y = windows_reference(series, 4, 2)
    assert X.dtype == np.float64 and y.dtype == np.float64, "a float64 series must give float64 X and y (was something cast?)"
    assert X.shape == ref_X.shape and y.shape == ref_y.shape, "X or y has the wrong shape for a 2-feature series with horizon 2"
    assert np.array_equal(X, ref_X) and np.array_equal(y, ref_y), "the values changed: windows must copy the series exactly"
