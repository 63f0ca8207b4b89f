"""Hidden checks for Exercise 2, ``ResidualBlock`` (3 points).

The visible check uses ResidualBlock(4, 4) and ResidualBlock(4, 6, stride=2) on a
(2, 4, 6, 5) batch in training mode; these use batch size 1, odd sizes, a channel change
without a stride, evaluation mode and float64 gradients. Parameters are loaded from
their shapes and a weight set private to the grader (``helpers.weight_values``), so attribute
names and registration order do not matter, and a block that ignores its parameters fails.
"""
import numpy as np
import pytest

from grader.checks.support import array, close, waves
from grader.checks.week2_resnet.helpers import PHASES, state_for
from utils import Tensor
from grader.checks.week2_resnet.reference import reference_block

pytestmark = pytest.mark.grade_cell("resblock_tests")
CLS = "ResidualBlock"


def run(student, in_c, out_c, stride, x, train=True, backward=None, phase=PHASES[0]):
    kwargs = {"in_channels": in_c, "out_channels": out_c, "stride": stride}
    state = state_for(student, CLS, kwargs, x, phase)
    return student.module(CLS, kwargs, [x], state=state, train=train, backward=backward, dtype="float64", input_grad=backward is not None)


@pytest.mark.points(1)
def test_other_shapes_batch_of_one(student):
    """Other shapes: batch size 1, odd image sizes, and a channel change without a stride (needs the 1x1 projection)"""
    outputs = []
    for phase, (in_c, out_c, stride, shape) in zip(PHASES + PHASES[:1], ((3, 5, 2, (1, 3, 7, 4)), (5, 5, 1, (1, 5, 3, 4)),
                                                                       (2, 6, 1, (2, 2, 5, 3)), (2, 6, 1, (2, 2, 5, 3)))):
        x = waves(shape, 0.3, np.float64)
        out = array(run(student, in_c, out_c, stride, x, phase=phase).outputs)
        ref = reference_block(Tensor(x, dtype=np.float64), in_c, out_c, stride, phase=phase).numpy()
        label = f"ResidualBlock({in_c}, {out_c}, stride={stride}) on an input of shape {shape}"
        assert out.shape == ref.shape, f"wrong output shape for {label}"
        assert close(out, ref, 1e-6, 1e-8), f"wrong output for {label} with the weights the grader loaded"
        outputs.append(out)
    assert not close(outputs[-1], outputs[-2]), "the output did not change when the weights changed: does forward use the loaded parameters?"


@pytest.mark.points(1)
def test_evaluation_mode(student):
    """Evaluation mode: every batch norm (the shortcut's included) uses its running statistics"""
    for in_c, out_c, stride, shape in ((4, 4, 1, (2, 4, 5, 6)), (4, 6, 2, (3, 4, 6, 5))):
        x = waves(shape, 1.3, np.float64)
        out = array(run(student, in_c, out_c, stride, x, train=False, phase=PHASES[1]).outputs)
        ref = reference_block(Tensor(x, dtype=np.float64), in_c, out_c, stride, training=False, phase=PHASES[1]).numpy()
        assert close(out, ref, 1e-6, 1e-8), f"wrong output in evaluation mode for ResidualBlock({in_c}, {out_c}, stride={stride})"


@pytest.mark.points(1)
def test_gradients_flow(student):
    """Gradients (float64): every parameter gets one, and the input gradient is right with and without downsampling"""
    for in_c, out_c, stride, shape in ((3, 3, 1, (2, 3, 4, 5)), (3, 4, 2, (2, 3, 5, 4))):
        x = waves(shape, 0.8, np.float64)
        tx = Tensor(x, requires_grad=True, dtype=np.float64)
        ref = reference_block(tx, in_c, out_c, stride, phase=PHASES[2])
        upstream = waves(ref.shape, 2.1, np.float64)
        ref.backward(upstream)
        reply = run(student, in_c, out_c, stride, x, backward=upstream, phase=PHASES[2])
        missing = [name for name, p in reply.parameters.items() if p.grad is None or not np.any(array(p.grad))]
        assert not missing, "some parameters get no gradient (is every layer used in forward?)"
        assert reply.input_grads and reply.input_grads[0] is not None, "no gradient reached the input"
        assert close(array(reply.input_grads[0]), tx.grad, 1e-6, 1e-9), \
            f"wrong input gradient for ResidualBlock({in_c}, {out_c}, stride={stride}): does it flow through the shortcut?"
