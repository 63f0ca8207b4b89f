"""Hidden checks for Exercise 3, ``SimpleResNet`` (2 points).

The visible check runs num_classes=7 on a (3, 1, 8, 8) batch in training mode; these use
a single 12x12 image, evaluation mode and float64 gradients.
"""
import numpy as np
import pytest

from grader.checks.support import array, close, waves
from grader.checks.week2_resnet.helpers import PHASES, state_for
from utils import Tensor
from grader.checks.week2_resnet.reference import reference_resnet

pytestmark = pytest.mark.grade_cell("resnet_tests")
CLS = "SimpleResNet"


@pytest.mark.points(1)
def test_other_input_and_eval(student):
    """Other inputs: one 12x12 image in training mode and a (2, 1, 8, 8) batch in evaluation mode, 5 classes"""
    for phase, (shape, train) in zip(PHASES, (((1, 1, 12, 12), True), ((2, 1, 8, 8), False))):
        x = waves(shape, 0.6, np.float64)
        state = state_for(student, CLS, {"num_classes": 5}, x, phase)
        out = array(student.module(CLS, {"num_classes": 5}, [x], state=state, train=train, dtype="float64").outputs)
        ref = reference_resnet(Tensor(x, dtype=np.float64), 5, training=train, phase=phase).numpy()
        mode = "training" if train else "evaluation"
        assert out.shape == ref.shape, f"wrong logits shape for an input of shape {shape}"
        assert close(out, ref, 1e-6, 1e-8), f"wrong logits for an input of shape {shape} in {mode} mode"


@pytest.mark.points(1)
def test_gradients_flow(student):
    """Gradients (float64): every parameter gets one and the input gradient is right"""
    x = waves((2, 1, 8, 8), 1.1, np.float64)
    tx = Tensor(x, requires_grad=True, dtype=np.float64)
    ref = reference_resnet(tx, 4, phase=PHASES[2])
    upstream = waves(ref.shape, 0.4, np.float64)
    ref.backward(upstream)
    state = state_for(student, CLS, {"num_classes": 4}, x, PHASES[2])
    reply = student.module(CLS, {"num_classes": 4}, [x], state=state, train=True, backward=upstream, dtype="float64", input_grad=True)
    missing = [name for name, p in reply.parameters.items() if p.grad is None or not np.any(array(p.grad))]
    assert not missing, "some parameters get no gradient (is every layer used in forward?)"
    assert reply.input_grads and reply.input_grads[0] is not None, "no gradient reached the input"
    assert close(array(reply.input_grads[0]), tx.grad, 1e-6, 1e-9), "wrong input gradient"
