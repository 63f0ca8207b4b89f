"""Hidden checks for Exercise 1, ``Generator`` (2 points).

The visible check builds one generator (latent 3, hidden 5, data 4) with public weights; these
use other sizes, batch 1, the grader's own weights (a second set must move the samples) and
float64 gradients for every parameter of the docstring's layout and for the noise.
"""
import numpy as np
import pytest

from grader.checks.support import array, close, moved, waves
from grader.checks.week8_gans.reference import ReferenceGenerator, grader_state
from utils import Tensor, no_grad

pytestmark = pytest.mark.grade_cell("generator_tests")
CLS = "Generator"
SIZES = dict(latent_dim=4, hidden_dim=7, data_dim=3)


@pytest.mark.points(1)
def test_samples(student):
    """Samples: other sizes, batch 1 and 5, with and without tanh_output, match the reference for the grader's weights"""
    outputs = []
    for batch, tanh_output, phase in ((1, False, 0.3), (5, False, 1.9), (5, True, 0.3)):
        reference = ReferenceGenerator(**SIZES, tanh_output=tanh_output)
        state = grader_state(reference, phase, np.float32)
        reference.load_state_dict(state)
        z = waves((batch, SIZES["latent_dim"]), 0.7 + batch, np.float32) * 2
        res = student.module(CLS, dict(SIZES, tanh_output=tanh_output), [z], state=state)
        out = array(res.outputs)
        assert out.shape == (batch, SIZES["data_dim"]), f"samples should have shape (N, data_dim) = {(batch, SIZES['data_dim'])}"
        with no_grad():
            want = reference(Tensor(z)).numpy()
        what = "with tanh_output=True" if tanh_output else f"for batch {batch}"
        assert close(out, want, rtol=1e-4, atol=1e-5), f"wrong samples {what} with the weights the grader loaded"
        outputs.append(out)
    assert moved(outputs[1], outputs[2]), "the samples do not change with tanh_output"


@pytest.mark.points(1)
def test_gradients(student):
    """Gradients (float64): backward reaches every Linear layer of net and the noise z, with the right values"""
    reference = ReferenceGenerator(**SIZES).double()
    state = grader_state(reference, 2.6)
    reference.load_state_dict(state)
    z = waves((3, SIZES["latent_dim"]), 1.3, np.float64) * 2
    upstream = waves((3, SIZES["data_dim"]), 0.2, np.float64)
    res = student.module(CLS, SIZES, [z], state=state, backward=upstream, dtype="float64", input_grad=True)
    leaf = Tensor(z, requires_grad=True, dtype=np.float64)
    out = reference(leaf)
    assert close(array(res.outputs), out.numpy(), rtol=1e-10, atol=1e-12), "float64 samples are wrong or lost precision"
    out.backward(upstream)
    grads = {name: info.grad for name, info in res.parameters.items()}
    for name, p in reference.named_parameters():
        assert grads.get(name) is not None, f"no gradient reached {name}"
        assert close(array(grads[name]), p.grad, rtol=1e-9, atol=1e-11), f"the gradient of {name} is wrong"
    assert res.input_grads and res.input_grads[0] is not None, "no gradient reached the noise z"
    assert close(array(res.input_grads[0]), leaf.grad, rtol=1e-9, atol=1e-11), "the gradient with respect to z is wrong"
