"""Hidden checks for Exercise 2, ``PatchEmbedding`` (2 points).

The visible check uses 12x12 images with 3 channels and 4x4 patches, and the defaults; these
use batch 1, one or two channels, float64 and gradients.
"""
import numpy as np
import pytest

from grader.checks.support import array, close, waves
from grader.checks.week6_vit.reference import looped_patches, patch_gradient

pytestmark = pytest.mark.grade_cell("patch_embedding_tests")
CLS = "PatchEmbedding"


def weights(d_model, patch_dim, dtype=np.float64):
    return {"proj.weight": waves((d_model, patch_dim), 0.4, dtype) * 0.3, "proj.bias": waves((d_model,), 1.9, dtype)}


@pytest.mark.points(1)
def test_other_sizes(student):
    """Other sizes: batch 1 with one channel, and 2 channels with 3x3 patches; n_patches and values"""
    for (img, p, c, d, batch) in ((6, 2, 1, 5, 1), (9, 3, 2, 7, 3)):
        state = weights(d, c * p * p, np.float32)
        images = waves((batch, c, img, img), 0.8)
        res = student.module(CLS, dict(img_size=img, patch_size=p, in_channels=c, d_model=d), [images],
                             state=state, attrs=["n_patches"])
        n = (img // p) ** 2
        assert res.attrs["n_patches"] == n, f"n_patches is wrong for a {img}x{img} image with {p}x{p} patches"
        out = array(res.outputs)
        want = looped_patches(images, p) @ state["proj.weight"].T + state["proj.bias"]
        assert out.shape == (batch, n, d), f"wrong output shape for batch {batch}, {img}x{img} images, {p}x{p} patches"
        assert close(out, want), f"wrong output for {img}x{img} images with {c} channel(s) and {p}x{p} patches"


@pytest.mark.points(1)
def test_float64_gradients(student):
    """Gradients (float64): backward reaches the projection's weight and bias and the input images"""
    img, p, c, d = 8, 4, 2, 6
    state = weights(d, c * p * p)
    images = waves((2, c, img, img), 0.5, np.float64)
    upstream = waves((2, 4, d), 1.1, np.float64)
    res = student.module(CLS, dict(img_size=img, patch_size=p, in_channels=c, d_model=d), [images], state=state,
                         backward=upstream, dtype="float64", input_grad=True)
    patches = looped_patches(images, p)  # (2, 4, 32)
    assert close(array(res.outputs), patches @ state["proj.weight"].T + state["proj.bias"], rtol=1e-10, atol=1e-12), \
        "float64 outputs are wrong or lost precision"
    grads = {name: info.grad for name, info in res.parameters.items()}
    assert grads.get("proj.weight") is not None and grads.get("proj.bias") is not None, "no gradient reached proj.weight or proj.bias"
    want_w = np.einsum("nkd,nkf->df", upstream, patches)
    assert close(array(grads["proj.weight"]), want_w, rtol=1e-9, atol=1e-10), "the gradient of proj.weight is wrong"
    assert close(array(grads["proj.bias"]), upstream.sum(axis=(0, 1)), rtol=1e-9, atol=1e-10), "the gradient of proj.bias is wrong"
    assert res.input_grads and res.input_grads[0] is not None, "no gradient reached the input images"
    want_x = patch_gradient(images.shape, p, upstream @ state["proj.weight"])
    assert close(array(res.input_grads[0]), want_x, rtol=1e-9, atol=1e-10), "the gradient with respect to the images is wrong"
