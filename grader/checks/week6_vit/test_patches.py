"""Hidden checks for Exercise 1, ``extract_patches`` (3 points).

The visible check uses a (2, 3, 8, 12) batch with 4x4 patches; these use other shapes
(batch 1, one channel, 1x1 and non-square grids), float64 Tensors and gradients.
"""
import numpy as np
import pytest

from grader.checks.support import array, close, waves
from grader.sandbox import AsTensor
from grader.checks.week6_vit.reference import looped_patches, patch_gradient

pytestmark = pytest.mark.grade_cell("patches_tests")
FN = "extract_patches"


@pytest.mark.points(1)
def test_other_shapes(student):
    """Other shapes: batch 1, one channel, 1x1 patches and a wide grid, on NumPy arrays (which come back as NumPy arrays)"""
    for shape, p in (((1, 1, 6, 6), 3), ((3, 2, 4, 10), 2), ((2, 3, 2, 3), 1), ((1, 4, 10, 5), 5)):
        images = waves(shape, 0.2)
        answer = student.call_with(FN, (images, p), inspect=True)
        assert answer["output_type"] == "ndarray", \
            f"a NumPy batch came back as a {answer['output_type']}: return the same kind as the input (a NumPy array here)"
        got = array(answer["outputs"])
        want = looped_patches(images, p)
        assert got.shape == want.shape, f"wrong shape for images of shape {shape} and {p}x{p} patches"
        assert close(got, want, rtol=0, atol=1e-7), f"wrong patches for images of shape {shape} and {p}x{p} patches (row-major patches, (channel, row, column) inside)"


@pytest.mark.points(1)
def test_float64_tensor(student):
    """Tensors: a float64 Tensor comes back as a float64 Tensor with exact values"""
    images = waves((2, 2, 6, 9), 1.3, np.float64)
    got = array(student.call(FN, AsTensor(images), 3))
    want = looped_patches(images, 3)
    assert got.shape == want.shape, "wrong shape for a Tensor input"
    assert close(got, want, rtol=1e-12, atol=1e-13), "float64 Tensor input lost precision or gave wrong patches (was something cast to float32?)"


@pytest.mark.points(1)
def test_gradients_flow(student):
    """Gradients: backward through the patches reaches every pixel of the images"""
    images = waves((2, 3, 4, 6), 0.7, np.float64)
    upstream = waves((2, 6, 12), 2.2, np.float64)
    reply = student.call_with(FN, [AsTensor(images, requires_grad=True), 2], backward=upstream)
    grad = reply["input_grads"][0]
    assert grad is not None, "no gradient reached the images: use Tensor reshape/permute, not NumPy, on Tensors"
    assert close(array(grad), patch_gradient(images.shape, 2, upstream), rtol=1e-10, atol=1e-12), "the gradient with respect to the images is wrong"
