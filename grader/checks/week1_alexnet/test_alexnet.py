"""Hidden checks for Exercise 3, ``AlexNet`` (3 points).

The visible check builds AlexNet(10) and inspects its layers and settings; these build it with
other class counts, read its layers back (from the model's printout), run batch size 1 and
float64, and check that dropout is active in training mode. (A value-by-value comparison would
need AlexNet's 58 million weights sent out of the sandbox.)
"""
import re

import numpy as np
import pytest

from grader.checks.support import array

pytestmark = pytest.mark.grade_cell("alexnet_tests")
CLASS = "AlexNet"
CONVS = [(3, 96, 11, 4, 2), (96, 256, 5, 1, 2), (256, 384, 3, 1, 1), (384, 384, 3, 1, 1), (384, 256, 3, 1, 1)]


def reference_shapes(num_classes):
    shapes = []
    for c_in, c_out, k, _, _ in CONVS:
        shapes += [(c_out, c_in, k, k), (c_out,)]
    for f_in, f_out in ((9216, 4096), (4096, 4096), (4096, num_classes)):
        shapes += [(f_out, f_in), (f_out,)]
    return shapes


# A printed layer that computes something: "(3): Conv2d(96, 256, kernel_size=(5, 5), ...)".
LAYER_LINE = re.compile(r"^\s*\(\w+\): ((?:Conv2d|MaxPool2d|ReLU|Linear|Dropout)\(.*\))$")


def reference_layers(num_classes):
    """How ``utils`` prints each of AlexNet's computing layers, in order (Flatten left out)."""
    conv = [f"Conv2d({i}, {o}, kernel_size=({k}, {k}), stride=({s}, {s}), padding=({p}, {p}))" for i, o, k, s, p in CONVS]
    relu, pool, drop = "ReLU()", "MaxPool2d(kernel_size=3, stride=2, padding=0)", "Dropout(p=0.5)"
    lin = [f"Linear(in_features={i}, out_features={o}, bias=True)" for i, o in ((9216, 4096), (4096, 4096), (4096, num_classes))]
    return [conv[0], relu, pool, conv[1], relu, pool, conv[2], relu, conv[3], relu, conv[4], relu, pool,
            lin[0], relu, drop, lin[1], relu, drop, lin[2]]


def images(n, seed_phase=0.0):
    """(n, 3, 224, 224) smooth, deterministic images in [0, 1]."""
    yy, xx = np.meshgrid(np.linspace(0, 1, 224), np.linspace(0, 1, 224), indexing="ij")
    out = [np.stack([0.5 + 0.5 * np.sin(6 * xx + 4 * yy * (c + 1) + i + seed_phase) for c in range(3)]) for i in range(n)]
    return np.asarray(out, dtype=np.float32)


@pytest.mark.points(1)
def test_other_classes_batch_one(student):
    """Architecture: AlexNet(num_classes=7) has AlexNet's layers, settings and parameter shapes, and maps one image to (1, 7)"""
    printed = student.module(CLASS, {"num_classes": 7}, [], method="__repr__").outputs
    assert isinstance(printed, str), "printing the model did not give its layers"
    layers = [m.group(1) for line in printed.splitlines() if (m := LAYER_LINE.match(line))]
    expected = reference_layers(7)
    wrong = next((k for k, (a, b) in enumerate(zip(layers, expected)) if a != b), None)
    assert wrong is None, f"layer {wrong + 1}, {layers[wrong]}, differs from AlexNet's (its type or settings)"  # built only on failure
    assert len(layers) == len(expected), f"the model has {len(layers)} computing layers (convolutions, ReLUs, pools, Linears, dropouts); AlexNet has {len(expected)}"
    result = student.module(CLASS, {"num_classes": 7}, [images(1)])
    out = array(result.outputs)
    assert out.shape == (1, 7), "AlexNet(num_classes=7) should map (1, 3, 224, 224) to (1, 7)"
    shapes = sorted(tuple(p.shape) for p in result.parameters.values())
    assert shapes == sorted(reference_shapes(7)), "the parameter shapes differ from AlexNet's (channels, kernel sizes, Linear sizes)"


@pytest.mark.points(1)
def test_float64_batch_two(student):
    """Precision: in float64, two different images give two different, finite float64 score vectors"""
    result = student.module(CLASS, {"num_classes": 5}, [images(2, 0.3)], dtype="float64")
    raw = np.asarray(result.outputs)
    out = array(result.outputs)
    assert out.shape == (2, 5), "AlexNet(num_classes=5) should map (2, 3, 224, 224) to (2, 5)"
    assert np.isfinite(out).all(), "the outputs hold NaN or inf"
    assert all(p.dtype == "float64" for p in result.parameters.values()), "model.to(dtype=float64) did not reach every parameter"
    assert raw.dtype == np.float64, "float64 inputs gave a lower-precision output (was something cast to float32?)"
    assert not np.allclose(out[0], out[1]), "two different images gave the same scores: is the input used?"


@pytest.mark.points(1)
def test_dropout_active_in_training(student):
    """Training mode: dropout is active (two identical images get different outputs), and eval mode is deterministic"""
    x = np.concatenate([images(1, 0.6)] * 2)
    train = student.module(CLASS, {"num_classes": 3}, [x], train=True)
    out = array(train.outputs)
    assert out.shape == (2, 3), "wrong output shape in training mode"
    assert train.training, "the model did not stay in training mode"
    assert not np.allclose(out[0], out[1]), "in training mode two identical images gave identical outputs: is dropout missing or p = 0?"
    evaluated = array(student.module(CLASS, {"num_classes": 3}, [x]).outputs)
    assert np.allclose(evaluated[0], evaluated[1]), "in eval mode two identical images gave different outputs: dropout must be off in eval mode"
