"""Hidden checks for Exercise 4, ``MiniAlexNet`` (2 points).

The visible check runs a batch of 3 in float32; these use other class counts, batch size 1,
and float64 gradients through every parameter, and ask what the exercise text and the visible
check ask: at least three convolutions (4-D weights), fewer than 2 million parameters, and
dropout that is active in training (two copies of one image score differently) and off in
evaluation.
"""
import numpy as np
import pytest

from grader.checks.support import array, moved, waves, weight_set

pytestmark = pytest.mark.grade_cell("mini_alexnet_tests")
CLASS = "MiniAlexNet"


def digits(n, dtype=np.float32):
    return (0.5 + 0.5 * waves((n, 1, 32, 32), 0.4, np.float64)).astype(dtype)


def grader_state(student, kwargs, phase):
    """A state dict of the grader's values for the student's own layout (its architecture is the
    student's choice): parameters from ``weight_set``, running statistics 0 and 1."""
    reported = student.module(CLASS, kwargs, [digits(1)], return_state=True).state or {}
    state = {}
    for name, value in reported.items():
        shape = np.shape(value)
        if name.endswith("running_mean"):
            state[name] = np.zeros(shape)
        elif name.endswith("running_var"):
            state[name] = np.ones(shape)
        elif np.asarray(value).dtype.kind != "f":
            state[name] = np.asarray(value)
        else:
            state[name] = weight_set([(name, shape)], phase, scale=1.5)[name]
    return state


@pytest.mark.points(1)
def test_shapes_and_batch_one(student):
    """Other shapes and dropout: MiniAlexNet(num_classes=4) maps one image to (1, 4) and five images to (5, 4); its scores follow the weights loaded into it; dropout is active in training and off in evaluation"""
    for n in (1, 5):
        out = array(student.module(CLASS, {"num_classes": 4}, [digits(n)]).outputs)
        assert out.shape == (n, 4), f"MiniAlexNet(num_classes=4) should map ({n}, 1, 32, 32) to ({n}, 4)"
        assert np.isfinite(out).all(), "the outputs hold NaN or inf"
    outs = [array(student.module(CLASS, {"num_classes": 4}, [digits(3)], state=grader_state(student, {"num_classes": 4}, phase)).outputs)
            for phase in (0.5, 2.0, 0.5)]
    assert not moved(outs[0], outs[2]), "loading the same weights twice gave different scores: does forward use weights other than the model's parameters?"
    assert moved(outs[0], outs[1]), "the scores did not change when the grader loaded other weights: does forward use the model's parameters?"
    twins = np.repeat(digits(1), 2, axis=0)  # (2, 1, 32, 32): one image twice
    rows = array(student.module(CLASS, {"num_classes": 4}, [twins], train=True).outputs)
    assert rows.shape == (2, 4) and not np.allclose(rows[0], rows[1], rtol=1e-3, atol=1e-5), \
        "two copies of one image got the same scores in training mode: the classifier needs Dropout between its Linear layers"
    rows = array(student.module(CLASS, {"num_classes": 4}, [twins]).outputs)
    assert np.allclose(rows[0], rows[1], rtol=1e-5, atol=1e-6), "two copies of one image got different scores in evaluation mode: dropout must be off there"


@pytest.mark.points(1)
def test_gradients_float64(student):
    """Gradients and size: in float64 and training mode, backward reaches the input and every parameter; at least 3 convolutions and fewer than 2 million parameters"""
    upstream = waves((4, 10), 0.2, np.float64)
    result = student.module(CLASS, {"num_classes": 10}, [digits(4)], train=True, backward=upstream,
                            dtype="float64", input_grad=True)
    out = array(result.outputs)
    assert out.shape == (4, 10), "MiniAlexNet should map (4, 1, 32, 32) to (4, 10)"
    assert result.parameters, "the model has no parameters"
    for name, info in result.parameters.items():
        assert info.dtype == "float64", "model.to(dtype=float64) did not reach every parameter"
        assert info.grad is not None, f"no gradient reached {name}: is that layer used in forward, with Tensor operations?"
        assert np.isfinite(np.asarray(info.grad)).all(), f"the gradient of {name} holds NaN or inf"
    assert result.input_grads and result.input_grads[0] is not None, "no gradient reached the input images"
    n_conv = sum(len(info.shape) == 4 for info in result.parameters.values())
    assert n_conv >= 3, f"found {n_conv} convolution weights (4-D parameters); the exercise asks for at least 3 convolutions"
    size = sum(int(np.prod(info.shape)) for info in result.parameters.values())
    assert size <= 2_000_000, f"{size:,} parameters; the exercise asks for fewer than 2,000,000"
    assert np.abs(np.asarray(result.input_grads[0])).max() > 0, "the gradient with respect to the input is zero everywhere"
