"""Hidden checks for Exercise 1, ``conv_output_size`` (2 points).

The visible check uses AlexNet's layers; these use other sizes, strides that do not
divide evenly, and check that the result is an int.
"""
import numpy as np
import pytest

pytestmark = pytest.mark.grade_cell("conv_size_tests")
FN = "conv_output_size"


def expected(size, kernel, stride=1, padding=0):
    return (size + 2 * padding - kernel) // stride + 1


@pytest.mark.points(1)
def test_other_sizes(student):
    """Other sizes: large padding, strides that leave a remainder, a kernel as large as the padded input"""
    cases = [(28, 5, 1, 2), (19, 3, 3, 0), (100, 7, 5, 3), (6, 8, 1, 1), (31, 2, 2, 0), (65, 11, 4, 0)]
    for size, kernel, stride, padding in cases:
        got = student.call(FN, size, kernel, stride, padding)
        assert got == expected(size, kernel, stride, padding), "wrong size for a stride that does not divide evenly or for a large padding"


@pytest.mark.points(1)
def test_returns_int_with_defaults(student):
    """Type and defaults: the size is an int, and stride=1, padding=0 are the defaults"""
    got = student.call(FN, 12, 5)
    assert got == 8, "wrong size with the default stride and padding"
    got = student.call(FN, 227, 11, 4, 0)
    assert isinstance(got, (int, np.integer)) and not isinstance(got, bool), "the size should be an int (use // rather than /)"
    assert got == 55, "wrong size for a stride-4 layer"
