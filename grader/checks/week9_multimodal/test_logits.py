"""Hidden checks for Exercise 1, ``clip_logits`` (3 points).

The visible check uses 3 images, 4 texts, 5 features and logit_scale 1.2; these use one image,
more texts than images and the reverse, other scales (0 among them), float64, and compare the
gradients with respect to both feature matrices and logit_scale.
"""
import numpy as np
import pytest

from grader.checks.support import array, close, waves
from grader.checks.week9_multimodal.reference import reference_logits
from grader.sandbox import AsTensor
from utils import Tensor

pytestmark = pytest.mark.grade_cell("clip_logits_tests")
FN = "clip_logits"


def expected(a, b, s, upstream=None):
    ta, tb = Tensor(a, requires_grad=True, dtype=np.float64), Tensor(b, requires_grad=True, dtype=np.float64)
    ts = Tensor(np.array(s, dtype=np.float64), requires_grad=True, dtype=np.float64)
    out = reference_logits(ta, tb, ts)
    if upstream is not None:
        out.backward(upstream)
    return out.numpy(), ta.grad, tb.grad, ts.grad


@pytest.mark.points(1)
def test_other_shapes(student):
    """Other shapes (float64): one image against six texts, five images against two, with two scales"""
    for (n, m, d), s in (((1, 6, 3), 0.4), ((5, 2, 7), 2.0)):
        a = waves((n, d), 0.3 + n, np.float64) * 2.5
        b = waves((m, d), 1.4 + m, np.float64) * 0.3
        got = array(student.call(FN, AsTensor(a), AsTensor(b), AsTensor(np.array(s))))
        assert got.shape == (n, m), f"for {n} image(s) and {m} texts the logits should have shape ({n}, {m}), images as rows"
        assert close(got, expected(a, b, s)[0], rtol=1e-9, atol=1e-11), \
            f"wrong logits for {n} image(s) and {m} texts (normalised rows, scaled by exp(logit_scale)?)"


@pytest.mark.points(1)
def test_temperature_sharpens(student):
    """Temperature: logit_scale 0 gives plain cosines (1 for a vector and itself); a larger logit_scale multiplies them by exp of it"""
    a = waves((4, 6), 0.9, np.float64) * np.array([[0.2], [1.0], [4.0], [2.0]])
    plain = array(student.call(FN, AsTensor(a), AsTensor(a), AsTensor(np.array(0.0))))
    assert close(np.diag(plain), np.ones(4), rtol=1e-9, atol=1e-11), \
        "with logit_scale 0, every vector should have similarity 1 with itself (are the rows normalised?)"
    assert np.all(np.abs(plain) <= 1 + 1e-9), "with logit_scale 0 the logits should be cosines, within [-1, 1]"
    sharp = array(student.call(FN, AsTensor(a), AsTensor(a), AsTensor(np.array(2.5))))
    assert close(sharp, plain * np.exp(2.5), rtol=1e-9, atol=1e-11), \
        "a larger logit_scale must scale the cosines up by exp(logit_scale) (a lower temperature sharpens)"


@pytest.mark.points(1)
def test_gradients(student):
    """Gradients (float64): backward reaches both feature matrices and logit_scale with the right values"""
    a = waves((3, 4), 0.1, np.float64) * 1.5
    b = waves((5, 4), 2.3, np.float64)
    s = 1.7
    upstream = waves((3, 5), 0.6, np.float64)
    _, ga, gb, gs = expected(a, b, s, upstream)
    reply = student.call_with(FN, [AsTensor(a, requires_grad=True), AsTensor(b, requires_grad=True),
                                   AsTensor(np.array(s), requires_grad=True)], backward=upstream)
    grads = reply["input_grads"]
    assert grads[0] is not None and grads[1] is not None, "no gradient reached the features: use Tensor operations, not NumPy"
    assert grads[2] is not None, "no gradient reached logit_scale: use logit_scale.exp(), not np.exp, so the temperature is learned"
    assert close(array(grads[0]), ga, rtol=1e-8, atol=1e-10), "the gradient with respect to image_features is wrong"
    assert close(array(grads[1]), gb, rtol=1e-8, atol=1e-10), "the gradient with respect to text_features is wrong"
    assert close(array(grads[2]).reshape(()), np.asarray(gs).reshape(()), rtol=1e-8, atol=1e-10), \
        "the gradient with respect to logit_scale is wrong"
