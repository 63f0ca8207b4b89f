"""Hidden checks for Exercise 3, ``AlexNet`` (3 points).

The visible check builds AlexNet(10) and inspects its layers; these judge the network by
what it computes. The grader loads its own weights into the student's model
(``load_state_dict``; the model's parameter names serve only as addresses, matched by
shape) and compares the scores with a reference AlexNet built from those same arrays.
AlexNet's 58 million weights cannot all cross the sandbox boundary, so the three Linear
layers get weights that are zero outside a small corner (sent as the corner alone); the
five convolutions get full, dense weights. Every layer's order and setting (kernel, stride,
padding, overlapping 3x3/2 pools, each ReLU, dropout's p) shows in the values; a printout is
never read.
"""
import functools

import numpy as np
import pytest

from grader.checks.support import array, assign_by_shape, close, moved, reported_layout, weight_set
from utils import Tensor, no_grad
from utils.nn.conv import conv2d
from utils.nn.pooling import max_pool2d

pytestmark = pytest.mark.grade_cell("alexnet_tests")
CLASS = "AlexNet"
CONVS = [(3, 96, 11, 4, 2), (96, 256, 5, 1, 2), (256, 384, 3, 1, 1), (384, 384, 3, 1, 1), (384, 256, 3, 1, 1)]
FCS = [(9216, 4096), (4096, 4096)]
# the corner of each Linear weight that is not zero: (outputs, inputs)
CORNERS = {"fc1": (48, 400), "fc2": (24, 48), "fc3": (None, 24)}


def roles(num_classes):
    """``[(role, shape)]`` of AlexNet's parameters in the order its layers are built."""
    out = []
    for k, (c_in, c_out, kernel, _, _) in enumerate(CONVS, start=1):
        out += [(f"conv{k}.weight", (c_out, c_in, kernel, kernel)), (f"conv{k}.bias", (c_out,))]
    for k, (f_in, f_out) in enumerate(FCS + [(4096, num_classes)], start=1):
        out += [(f"fc{k}.weight", (f_out, f_in)), (f"fc{k}.bias", (f_out,))]
    return out


@functools.lru_cache(maxsize=None)
def _names(student, num_classes):
    layout = reported_layout(student, CLASS, {"num_classes": num_classes})
    return assign_by_shape(layout, roles(num_classes), f"AlexNet(num_classes={num_classes})'s layers "
                           "(five convolutions 96-256-384-384-256, Linear 9216 -> 4096 -> 4096 -> num_classes)")


def corner_values(num_classes, phase, dropout_probe=False):
    """``{role: dense array or (shape, corner)}``: dense convolutions, Linear weights zero outside a corner.

    With ``dropout_probe`` the last two Linears pass unit k straight through (identity corners)
    and the first one's bias is large, so every score is positive in evaluation mode and, in
    training mode, either 0 or 1 / (1 - p)^2 times it.
    """
    dense = weight_set([r for r in roles(num_classes) if r[0].startswith("conv")], phase, scale=1.6)
    values = dict(dense)
    K = num_classes
    r1, c1 = CORNERS["fc1"]
    r2, c2 = CORNERS["fc2"]
    w = weight_set([("fc1", (r1, c1)), ("fc2", (r2, c2)), ("fc3", (K, CORNERS["fc3"][1])), ("b1", (r1,)), ("b2", (r2,)),
                    ("b3", (K,))], phase + 1.0, scale=1.0)
    if dropout_probe:
        w["fc1"] = 0.05 * w["fc1"]
        w["b1"] = 2.0 + np.abs(w["b1"])
        w["fc2"], w["b2"] = np.eye(r2, c2), np.zeros(r2)
        w["fc3"], w["b3"] = np.eye(K, CORNERS["fc3"][1]), np.zeros(K)
    values.update({"fc1.weight": ((4096, 9216), w["fc1"]), "fc1.bias": ((4096,), w["b1"]),
                   "fc2.weight": ((4096, 4096), w["fc2"]), "fc2.bias": ((4096,), w["b2"]),
                   "fc3.weight": ((K, 4096), w["fc3"]), "fc3.bias": w["b3"]})
    return values


def state_for(student, num_classes, values):
    """The state dict to load, keyed by the student's names; corners travel as ``{"shape", "corner"}``."""
    names = _names(student, num_classes)
    out = {}
    for role, value in values.items():
        if isinstance(value, tuple):
            shape, corner = value
            value = {"shape": shape, "corner": corner.astype(np.float32)}
        else:
            value = value.astype(np.float32)
        out[names[role]] = value
    return out


def reference(values, x):
    """AlexNet's scores with ``values`` (evaluation mode): x (N, 3, 224, 224) -> (N, K)."""
    dt = x.dtype

    def t(a):
        return Tensor(np.asarray(a, dtype=np.float32).astype(dt), dtype=dt)

    with no_grad():
        h = Tensor(x, dtype=dt)
        for k, (_, _, _, stride, padding) in enumerate(CONVS, start=1):
            h = conv2d(h, t(values[f"conv{k}.weight"]), t(values[f"conv{k}.bias"]), stride=stride, padding=padding).relu()
            if k in (1, 2, 5):
                h = max_pool2d(h, 3, 2)  # (N, C, H', W'), overlapping pools
        f = h.reshape(h.shape[0], -1)  # (N, 9216)
        (_, w1), (_, b1) = values["fc1.weight"], values["fc1.bias"]
        (_, w2), (_, b2) = values["fc2.weight"], values["fc2.bias"]
        (_, w3), b3 = values["fc3.weight"], values["fc3.bias"]
        h1 = (f[:, :w1.shape[1]] @ t(w1).T + t(b1)).relu()  # (N, r1); the other 4096 - r1 units are relu(0) = 0
        h2 = (h1[:, :w2.shape[1]] @ t(w2).T + t(b2)).relu()  # (N, r2)
        return (h2[:, :w3.shape[1]] @ t(w3).T + t(b3)).numpy()  # (N, K)


def images(n, seed_phase=0.0, dtype=np.float32):
    """(n, 3, 224, 224) smooth, deterministic images in [0, 1]."""
    yy, xx = np.meshgrid(np.linspace(0, 1, 224), np.linspace(0, 1, 224), indexing="ij")
    out = [np.stack([0.5 + 0.5 * np.sin(6 * xx + 4 * yy * (c + 1) + i + seed_phase) for c in range(3)]) for i in range(n)]
    return np.asarray(out, dtype=dtype)


@pytest.mark.points(1)
def test_other_classes_batch_one(student):
    """Architecture by its values: with the grader's weights, AlexNet(num_classes=7) scores one image as a reference AlexNet does, and other weights give other scores"""
    x = images(1)
    outs = []
    for phase in (0.4, 2.2):
        values = corner_values(7, phase)
        out = array(student.module(CLASS, {"num_classes": 7}, [x], state=state_for(student, 7, values)).outputs)
        assert out.shape == (1, 7), "AlexNet(num_classes=7) should map (1, 3, 224, 224) to (1, 7)"
        assert close(out, reference(values, x), rtol=2e-3, atol=2e-4), (
            "with the weights the grader loaded, the scores differ from AlexNet's: check each layer's kernel, stride and "
            "padding, the overlapping 3x3/2 max-pools, a ReLU after every convolution and hidden Linear, and the layer order")
        outs.append(out)
    assert moved(*outs), "the scores did not change when the weights changed: does forward use the model's parameters?"


@pytest.mark.points(1)
def test_float64_batch_two(student):
    """Precision: in float64, two images give the reference's float64 scores"""
    x = images(2, 0.3, np.float64)
    values = corner_values(7, 1.3)  # the same class count in every check: the layout is read once
    result = student.module(CLASS, {"num_classes": 7}, [x], dtype="float64", state=state_for(student, 7, values))
    raw = np.asarray(result.outputs)
    out = array(result.outputs)
    assert out.shape == (2, 7), "AlexNet(num_classes=7) should map (2, 3, 224, 224) to (2, 7)"
    assert all(p.dtype == "float64" for p in result.parameters.values()), "model.to(dtype=float64) did not reach every parameter"
    assert raw.dtype == np.float64, "float64 inputs gave a lower-precision output (was something cast to float32?)"
    assert close(out, reference(values, x), rtol=1e-8, atol=1e-10), "float64 scores differ from AlexNet's with the weights the grader loaded"


@pytest.mark.points(1)
def test_dropout_active_in_training(student):
    """Dropout: in training mode each hidden Linear's output goes through Dropout(0.5) (scores are 0 or 4x their evaluation value), and evaluation mode is deterministic"""
    K = 7
    x = np.concatenate([images(1, 0.6)] * 4)
    values = corner_values(K, 0.9, dropout_probe=True)
    state = state_for(student, K, values)
    evaluated = array(student.module(CLASS, {"num_classes": K}, [x], state=state).outputs)
    ref = reference(values, x)
    assert evaluated.shape == (4, K) and close(evaluated, ref, rtol=2e-3, atol=2e-4), \
        "in evaluation mode the scores differ from AlexNet's: dropout must be the identity in eval mode"
    train = student.module(CLASS, {"num_classes": K}, [x], state=state, train=True)
    assert train.training, "the model did not stay in training mode"
    out = array(train.outputs)
    assert out.shape == (4, K), "wrong output shape in training mode"
    dropped = np.abs(out) <= 1e-6 * np.abs(ref)
    kept = np.isclose(out, 4.0 * ref, rtol=2e-3, atol=1e-6)
    assert dropped.any(), "in training mode no unit was ever dropped: is dropout missing or p = 0?"
    assert (dropped | kept).all(), ("in training mode the scores are not 0 or 4x their evaluation value: AlexNet puts "
                                    "Dropout(p=0.5) after the ReLU of each of the two hidden Linear layers")
