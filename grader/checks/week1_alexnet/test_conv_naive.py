"""Hidden checks for Exercise 2, ``conv2d_naive`` (3 points).

The visible check uses (2, 3, 6, 7) inputs with a (4, 3, 3, 2) kernel; these use other
shapes, batch size 1, a stride that leaves a remainder, and float64 precision.
"""
import numpy as np
import pytest

from grader.checks.support import array, close, waves
from utils import Tensor, no_grad
from utils.nn.conv import conv2d

pytestmark = pytest.mark.grade_cell("conv_naive_tests")
FN = "conv2d_naive"


def inputs(n, c, h, w, o, kh, kw, dtype=np.float32):
    return waves((n, c, h, w), 0.0, dtype), waves((o, c, kh, kw), 0.7, dtype), waves((o,), 1.9, dtype)


def reference(x, weight, bias, stride, padding):
    with no_grad():
        return conv2d(Tensor(x, dtype=x.dtype), Tensor(weight, dtype=x.dtype), Tensor(bias, dtype=x.dtype),
                      stride=stride, padding=padding).numpy()


def run(student, x, weight, bias, stride, padding):
    return array(student.call(FN, x, weight, bias, stride, padding))


@pytest.mark.points(1)
def test_other_shapes(student):
    """Other shapes: 5 input channels, a 3x4 kernel, 7 filters, stride 2 with padding 2"""
    x, weight, bias = inputs(3, 5, 9, 8, 7, 3, 4)
    out = run(student, x, weight, bias, 2, 2)
    ref = reference(x, weight, bias, 2, 2)
    assert out.shape == ref.shape, "the output has the wrong shape (N, out_channels, Ho, Wo)"
    assert close(out, ref), "wrong values with several input channels, a non-square kernel and stride 2"


@pytest.mark.points(1)
def test_batch_one_and_uneven_stride(student):
    """Edge cases: one image, one channel, stride 3 that leaves a remainder, and a kernel covering the whole input"""
    x, weight, bias = inputs(1, 1, 11, 10, 2, 3, 3)
    out = run(student, x, weight, bias, 3, 0)
    ref = reference(x, weight, bias, 3, 0)
    assert out.shape == ref.shape, "wrong output shape for one image with stride 3"
    assert close(out, ref), "wrong values for one image with stride 3"
    x, weight, bias = inputs(2, 2, 5, 4, 3, 5, 4)
    out = run(student, x, weight, bias, 1, 0)
    ref = reference(x, weight, bias, 1, 0)
    assert out.shape == ref.shape == (2, 3, 1, 1), "a kernel as large as the input should give a 1x1 output"
    assert close(out, ref), "wrong values when the kernel covers the whole input"


@pytest.mark.points(1)
def test_float64(student):
    """Precision: float64 inputs give float64-accurate results"""
    x, weight, bias = inputs(2, 3, 7, 6, 4, 3, 3, dtype=np.float64)
    out = run(student, x, weight, bias, 1, 1)
    ref = reference(x, weight, bias, 1, 1)
    assert out.shape == ref.shape, "wrong output shape with padding 1"
    assert close(out, ref, rtol=1e-10, atol=1e-12), "float64 inputs lost precision (was something cast to float32?)"
