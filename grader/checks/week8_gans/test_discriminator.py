"""Hidden checks for Exercise 2, ``Discriminator`` (2 points).

The visible check builds one discriminator (data 6, hidden 5) with public weights; these use
other sizes, batch 1, images to flatten, the grader's own weights (a second set must move the
logits) and float64 gradients for every parameter of the docstring's layout and for the input.
"""
import numpy as np
import pytest

from grader.checks.support import array, close, moved, waves
from grader.checks.week8_gans.reference import ReferenceDiscriminator, grader_state
from utils import Tensor, no_grad

pytestmark = pytest.mark.grade_cell("discriminator_tests")
CLS = "Discriminator"
SIZES = dict(data_dim=8, hidden_dim=6)


@pytest.mark.points(1)
def test_logits(student):
    """Logits: batch 1 and 4, flat samples and (N, 2, 2, 2) images, one logit per sample matching the reference"""
    logits = []
    for shape, phase in (((1, 8), 0.4), ((4, 8), 1.2), ((4, 2, 2, 2), 1.2), ((4, 8), 2.8)):
        reference = ReferenceDiscriminator(**SIZES)
        state = grader_state(reference, phase, np.float32)
        reference.load_state_dict(state)
        x = waves(shape, 0.5 + shape[0], np.float32) * 2
        res = student.module(CLS, SIZES, [x], state=state)
        out = array(res.outputs)
        assert out.shape == (shape[0],), f"the logits should have shape (N,) = ({shape[0]},) for input {shape}"
        with no_grad():
            want = reference(Tensor(x)).numpy()
        assert close(out, want, rtol=1e-4, atol=1e-5), f"wrong logits for input of shape {shape} with the grader's weights"
        logits.append(out)
    assert close(logits[1], logits[2]), "images of shape (N, 2, 2, 2) should give the logits of the same values flattened"
    assert moved(logits[1], logits[3]), "the logits do not follow the weights the grader loaded"


@pytest.mark.points(1)
def test_gradients(student):
    """Gradients (float64): backward reaches every Linear layer of net and the input samples, with the right values"""
    reference = ReferenceDiscriminator(**SIZES).double()
    state = grader_state(reference, 0.9)
    reference.load_state_dict(state)
    x = waves((3, SIZES["data_dim"]), 2.2, np.float64) * 2
    upstream = waves((3,), 0.6, np.float64)
    res = student.module(CLS, SIZES, [x], state=state, backward=upstream, dtype="float64", input_grad=True)
    leaf = Tensor(x, requires_grad=True, dtype=np.float64)
    out = reference(leaf)
    assert close(array(res.outputs), out.numpy(), rtol=1e-10, atol=1e-12), "float64 logits are wrong or lost precision"
    out.backward(upstream)
    grads = {name: info.grad for name, info in res.parameters.items()}
    for name, p in reference.named_parameters():
        assert grads.get(name) is not None, f"no gradient reached {name}"
        assert close(array(grads[name]), p.grad, rtol=1e-9, atol=1e-11), f"the gradient of {name} is wrong"
    assert res.input_grads and res.input_grads[0] is not None, "no gradient reached the input samples"
    assert close(array(res.input_grads[0]), leaf.grad, rtol=1e-9, atol=1e-11), "the gradient with respect to the input is wrong"
