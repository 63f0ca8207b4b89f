"""Hidden checks for Exercise 2, ``make_windows`` (2 points).

The visible check uses 11-12 steps, seq_len 3-4 and float32; these use three features,
a long horizon, a single window, windows of one step, float64, the caller's series left
unchanged, and (by counting traced lines, never by timing) no Python loop over the windows.
"""
import numpy as np
import pytest

from grader.checks.support import close, pair
from grader.checks.week3_lstm.reference import windows_reference

pytestmark = pytest.mark.grade_cell("make_windows_tests")
FN = "make_windows"
LOOP_SLACK = 20  # extra traced lines tolerated for a 10x longer series (a loop over the windows adds about 540)


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
def test_float64_kept_input_untouched_no_loop(student):
    """float64 and no loop: a float64 series gives float64 windows with exact values, the input is not modified, and a 10x longer series runs no more of your Python lines (no loop over the windows)"""
    series = (np.linspace(0, 1, 15)[:, None] * np.array([1.0, 1e-9 + 1.0]) + 1e-12).astype(np.float64)  # (15, 2)
    answer = student.call_with(FN, (series.copy(), 4, 2), inspect=True)
    X, y = pair(answer["outputs"], "(X, y)")
    X, y = np.asarray(X), np.asarray(y)
    ref_X, ref_y = windows_reference(series, 4, 2)
    assert X.dtype == np.float64 and y.dtype == np.float64, "a float64 series must give float64 X and y (was something cast?)"
    assert X.shape == ref_X.shape and y.shape == ref_y.shape, "X or y has the wrong shape for a 2-feature series with horizon 2"
    assert np.array_equal(X, ref_X) and np.array_equal(y, ref_y), "the values changed: windows must copy the series exactly"
    assert np.array_equal(np.asarray(answer["args_after"][0]), series), "the series passed in was modified: do not write into it"
    lines = []
    for T in (60, 600):
        long = np.stack([np.sin(np.arange(T) * 0.1), np.arange(T) / T], axis=1)  # (T, 2)
        lines.append(int(student.call_with(FN, (long, 5, 3), inspect=True)["lines"]))
    assert lines[1] - lines[0] < LOOP_SLACK, (f"a 10x longer series ran {lines[1] - lines[0]} more lines of your Python code: "
                                              "a loop over the windows? sliding_window_view makes them all in one call")
