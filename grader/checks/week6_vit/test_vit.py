"""Hidden checks for Exercise 3, ``VisionTransformer`` (4 points).

The visible check builds one small model (2 channels, 3 classes, batch 2); these use other
configurations, batch 1, float64 weights loaded by name, and gradients to every parameter.
The weights are the grader's own (``grader_vit_state``), and the references are built from
the same arrays; a second weight set must move the logits, so a model that ignores its
parameters fails, and gradients are compared value by value for every parameter the
docstring's layout has (not only for those the model reports).
"""
import numpy as np
import pytest

from grader.checks.support import array, close, moved, waves
from utils import Tensor, no_grad
from grader.checks.week6_vit.reference import ReferenceViT, grader_vit_state

pytestmark = pytest.mark.grade_cell("vit_tests")
CLS = "VisionTransformer"
SMALL = dict(img_size=6, patch_size=3, in_channels=3, num_classes=4, d_model=12, num_heads=3, num_layers=1, d_ff=10)
DEEPER = dict(img_size=8, patch_size=2, in_channels=1, num_classes=5, d_model=8, num_heads=2, num_layers=3, d_ff=6)


def images_for(cfg, batch, dtype=np.float32):
    return waves((batch, cfg["in_channels"], cfg["img_size"], cfg["img_size"]), 0.9, dtype)


@pytest.mark.points(1)
def test_output_shapes(student):
    """Shapes: other configurations, batch 1 and batch 3, give (N, num_classes) logits, in float32 with the grader's weights"""
    for cfg, batch in ((SMALL, 1), (DEEPER, 3)):
        reference = ReferenceViT(**cfg)
        state = grader_vit_state(reference, np.float32, 0.2)
        reference.load_state_dict(state)
        x = images_for(cfg, batch)
        res = student.module(CLS, cfg, [x], state=state)
        out = array(res.outputs)
        assert out.shape == (batch, cfg["num_classes"]), \
            f"logits should have shape (N, num_classes) = {(batch, cfg['num_classes'])} for batch {batch}"
        assert np.isfinite(out).all(), "the logits hold NaN or inf"
        with no_grad():
            assert close(out, reference(x).numpy(), rtol=1e-4, atol=1e-5), f"wrong logits for batch {batch} with the weights the grader loaded"


@pytest.mark.points(1)
def test_parameters(student):
    """Parameters: the class token, position embeddings (one per patch plus the class token) and layers have the right shapes"""
    res = student.module(CLS, DEEPER, [images_for(DEEPER, 2)])
    got = {name: info.shape for name, info in res.parameters.items()}
    want = {name: tuple(p.shape) for name, p in ReferenceViT(**DEEPER).named_parameters()}
    n = (DEEPER["img_size"] // DEEPER["patch_size"]) ** 2
    assert got.get("cls_token") == (1, 1, DEEPER["d_model"]), "cls_token should be a Parameter of shape (1, 1, d_model)"
    assert got.get("pos_embed") == (1, n + 1, DEEPER["d_model"]), "pos_embed should be a Parameter of shape (1, n_patches + 1, d_model)"
    assert sum(int(np.prod(s)) for s in got.values()) == sum(int(np.prod(s)) for s in want.values()), \
        "the number of trainable values differs from the layout in the docstring (layers, norm or head?)"
    assert got == want, "the parameter names or shapes differ from the layout in the docstring"
    x = images_for(DEEPER, 2, np.float64)
    logits = []
    for phase in (1.1, 2.9):
        reference = ReferenceViT(**DEEPER).double()
        state = grader_vit_state(reference, np.float64, phase)
        reference.load_state_dict(state)
        with no_grad():
            expected = reference(x).numpy()
        out = array(student.module(CLS, DEEPER, [x], state=state, dtype="float64").outputs)
        assert close(out, expected, rtol=1e-7, atol=1e-9), "with the weights the grader loaded by these names, the logits are wrong"
        logits.append(out)
    assert moved(*logits), "the logits did not change when the weights changed: does forward use the model's parameters?"


@pytest.mark.points(1)
def test_values_with_given_weights(student):
    """Values (float64): with the same weights, the logits match a reference ViT (class token, position embeddings, pre-norm)"""
    for cfg, batch in ((SMALL, 1), (DEEPER, 2)):
        reference = ReferenceViT(**cfg).double()
        state = grader_vit_state(reference, np.float64)
        reference.load_state_dict(state)
        x = images_for(cfg, batch, np.float64)
        with no_grad():
            want = reference(x).numpy()
        res = student.module(CLS, cfg, [x], state=state, dtype="float64")
        got = array(res.outputs)
        assert got.shape == want.shape, "wrong logits shape"
        assert close(got, want, rtol=1e-7, atol=1e-9), \
            "wrong logits for given weights (does the head read the class token at position 0, are pos_embed added, are the layers pre-norm?)"


@pytest.mark.points(1)
def test_gradients_reach_every_parameter(student):
    """Gradients (float64): backward reaches every parameter, the class token and position embeddings included, and the images"""
    cfg = DEEPER
    x = images_for(cfg, 2, np.float64)
    upstream = waves((2, cfg["num_classes"]), 0.3, np.float64)
    reference = ReferenceViT(**cfg).double()
    state = grader_vit_state(reference, np.float64, 1.7)
    reference.load_state_dict(state)
    tx = Tensor(x, requires_grad=True, dtype=np.float64)
    reference(tx).backward(upstream)
    res = student.module(CLS, cfg, [x], state=state, backward=upstream, dtype="float64", input_grad=True)
    assert "cls_token" in res.parameters and "pos_embed" in res.parameters, "cls_token and pos_embed must be Parameters of the model"
    missing = sorted(name for name, _ in reference.named_parameters() if res.parameters.get(name) is None or res.parameters[name].grad is None)
    assert not missing, f"no gradient reached {', '.join(missing[:3])}: build the forward pass from Tensor operations on the parameters"
    for name, p in reference.named_parameters():
        assert close(array(res.parameters[name].grad), p.grad, rtol=1e-6, atol=1e-9), f"the gradient of {name} is wrong"
    assert res.input_grads and res.input_grads[0] is not None, "no gradient reached the input images"
