"""Visible checks for week 1 (AlexNet). Each runs in about a second.

Inputs are deterministic (no RNG) with distinct sizes per axis, so a swapped axis fails
loudly; common mistakes are named: ``/`` instead of ``//``, padding counted once, a
flipped kernel (true convolution instead of cross-correlation), a forgotten bias, a
stride ignored, layers in the wrong order, dropout left on at evaluation.
"""
from __future__ import annotations

import numpy as np

from ..backend import asnumpy
from ..nn import Conv2d, Dropout, Flatten, Linear, MaxPool2d, Module, ReLU, count_parameters
from ..tensor import Tensor, no_grad
from .delegation import forbids
from .stored import load_goldens, section
from .result import CheckItem, CheckResult, check_close, check_gradients_reach_parameters, check_shape, check_true, run_student

# (label, size, kernel, stride, padding, expected): the AlexNet layers on a 224x224 image first.
ALEXNET_SIZES = [
    ("conv1 11x11/4 pad 2 on 224", 224, 11, 4, 2, 55),
    ("max-pool 3/2 on 55", 55, 3, 2, 0, 27),
    ("conv2 5x5 pad 2 on 27", 27, 5, 1, 2, 27),
    ("max-pool 3/2 on 27", 27, 3, 2, 0, 13),
    ("conv3-5 3x3 pad 1 on 13", 13, 3, 1, 1, 13),
    ("max-pool 3/2 on 13", 13, 3, 2, 0, 6),
]
OTHER_SIZES = [
    ("7x7 kernel on 32, no padding", 32, 7, 1, 0, 26),
    ("stride 2 that does not divide evenly", 10, 3, 2, 0, 4),
    ("stride 3, padding 1", 17, 4, 3, 1, 6),
]

# The layer sequence of AlexNet (Flatten may sit anywhere between the last pool and the first Linear).
ALEXNET_LAYERS = ["Conv2d", "ReLU", "MaxPool2d", "Conv2d", "ReLU", "MaxPool2d", "Conv2d", "ReLU", "Conv2d", "ReLU",
                  "Conv2d", "ReLU", "MaxPool2d", "Linear", "ReLU", "Dropout", "Linear", "ReLU", "Dropout", "Linear"]
# (in, out, kernel, stride, padding) of the five convolutions.
ALEXNET_CONVS = [(3, 96, 11, 4, 2), (96, 256, 5, 1, 2), (256, 384, 3, 1, 1), (384, 384, 3, 1, 1), (384, 256, 3, 1, 1)]
ALEXNET_LINEARS = [(256 * 6 * 6, 4096), (4096, 4096), (4096, 10)]
ALEXNET_PARAMETERS = 58_322_314  # with num_classes=10


def _diagnose_size(fn_value, size, kernel, stride, padding, expected) -> str:
    if isinstance(fn_value, float):
        return "it returned a float: use floor division `//` so the size is an int"
    hints = {
        (size + padding - kernel) // stride + 1: "padding was added once; it goes on both sides (2 * padding)",
        (size + 2 * padding - kernel) // stride: "the + 1 is missing (the first window also counts)",
        -(-(size + 2 * padding - kernel) // stride) + 1: "it rounded up; a window that does not fit is dropped (floor)",
        (size - kernel) // stride + 1: "padding was ignored",
    }
    return hints.get(fn_value, "") if fn_value != expected else ""


@forbids("week1_alexnet", "conv_size")
def test_conv_output_size(fn) -> CheckResult:
    """Check ``fn(size, kernel_size, stride=1, padding=0) -> int`` on AlexNet's layers and a few others."""
    result = CheckResult("conv_output_size")
    for label, size, kernel, stride, padding, expected in ALEXNET_SIZES + OTHER_SIZES:
        value, error = run_student(label, fn, size, kernel, stride, padding)
        if error:
            result.add(error)
            return result
        ok = isinstance(value, (int, np.integer)) and value == expected
        hint = "" if ok else _diagnose_size(value, size, kernel, stride, padding, expected)
        result.add(CheckItem(label, ok, "" if ok else ("likely cause: " + hint if hint else "wrong size"),
                             expected=None if ok else expected, received=None if ok else value))
    value, error = run_student("defaults stride=1, padding=0", fn, 9, 4)
    result.add(error or check_true("defaults stride=1, padding=0", value == 6, f"fn(9, 4) should be 6, got {value!r}"))
    return result


# ---------------------------------------------------------------------- conv2d_naive
def conv_inputs(n=2, c=3, h=6, w=7, o=4, kh=3, kw=2, dtype=np.float64):
    """Deterministic ``(x, weight, bias)`` NumPy arrays of shapes (n, c, h, w), (o, c, kh, kw), (o,)."""
    def wave(shape, phase):
        k = int(np.prod(shape))
        return (np.sin(np.arange(k) * 0.37 + phase) + 0.3 * np.cos(np.arange(k) * 1.3)).reshape(shape).astype(dtype)

    return wave((n, c, h, w), 0.0), wave((o, c, kh, kw), 0.9), wave((o,), 2.1)


# The two cases of the check: (label, stride, padding, output shape).
CONV_CASES = (("stride 1, no padding", 1, 0, (2, 4, 4, 6)), ("stride 2, padding 1", 2, 1, (2, 4, 3, 4)))
WEEK = "week1_alexnet"


def _case_key(stride, padding) -> str:
    return f"conv/s{stride}p{padding}"


def golden_cases(namespace) -> dict[str, np.ndarray]:
    """The convolution cases through ``conv2d_naive`` in ``namespace`` (the reference answers, for
    ``python -m grader goldens``): the right outputs, and those of three typical mistakes (a flipped
    kernel, no bias, windows moved by 1 instead of the stride) that the check recognises."""
    fn = namespace["conv2d_naive"]
    x, weight, bias = conv_inputs()
    out = {}
    for _, stride, padding, _ in CONV_CASES:
        key = _case_key(stride, padding)
        out[f"{key}/expected"] = fn(x, weight, bias, stride, padding)
        out[f"{key}/flipped"] = fn(x, weight[:, :, ::-1, ::-1].copy(), bias, stride, padding)
        out[f"{key}/no_bias"] = fn(x, weight, np.zeros_like(bias), stride, padding)
        out[f"{key}/stride_ignored"] = fn(x, weight, bias, 1, padding)
    return {k: np.asarray(v) for k, v in out.items()}


def _diagnose_conv(stride, padding, out) -> str:
    golden = section(load_goldens(WEEK), _case_key(stride, padding))

    def near(ref):
        return ref.shape == out.shape and np.allclose(out, ref, rtol=1e-5, atol=1e-6)

    if near(golden["flipped"]):
        return "the kernel is flipped: deep learning's 'convolution' is a cross-correlation (no flip)"
    if near(golden["no_bias"]):
        return "the bias was not added"
    if stride > 1:
        dense = golden["stride_ignored"]
        ho, wo = out.shape[2:]
        if dense.shape[2] >= ho and dense.shape[3] >= wo and np.allclose(out, dense[:, :, :ho, :wo], atol=1e-6):
            return "the windows moved by 1 instead of by the stride: start window (i, j) at (i * stride, j * stride)"
    return ""


@forbids("week1_alexnet", "conv_naive")
def test_conv2d_naive(fn) -> CheckResult:
    """Check ``fn(x, weight, bias, stride, padding) -> (N, O, Ho, Wo)`` against stored expected outputs."""
    result = CheckResult("conv2d_naive")
    x, weight, bias = conv_inputs()
    for label, stride, padding, shape in CONV_CASES:
        out, error = run_student(f"runs ({label})", fn, x.copy(), weight.copy(), bias.copy(), stride, padding)
        if error:
            result.add(error)
            return result
        if out is None:
            result.add(CheckItem(f"returns an array ({label})", False, "the function returned None: is a `return` missing?"))
            return result
        out = asnumpy(out)
        item = check_shape(f"output shape ({label})", out, shape)
        result.add(item)
        if not item.passed:
            item.message += "; the output is (N, out_channels, Ho, Wo) with Ho from conv_output_size"
            return result
        expected = load_goldens(WEEK)[f"{_case_key(stride, padding)}/expected"]
        item = check_close(f"values ({label})", out, expected)
        if not item.passed:
            hint = _diagnose_conv(stride, padding, out)
            if hint:
                item.message = f"likely cause: {hint}. " + item.message
        result.add(item)
    dtype = np.asarray(out).dtype
    result.add(check_true("keeps the input's dtype (float64 in, float64 out)", dtype == x.dtype,
                          f"float64 inputs gave a {dtype} output: create the output array with dtype=x.dtype"))
    return result


# ---------------------------------------------------------------------- AlexNet
def _leaf_layers(model: Module) -> list:
    """The layers that compute something, in registration order (containers and Flatten left out)."""
    kinds = (Conv2d, MaxPool2d, ReLU, Linear, Dropout)
    return [m for _, m in model.named_modules() if isinstance(m, kinds)]


def _layer_checks(result: CheckResult, model: Module, convs, linears) -> bool:
    layers = _leaf_layers(model)
    names = [type(m).__name__ for m in layers]
    expected = ALEXNET_LAYERS
    if names != expected:
        first = next((i for i, (a, b) in enumerate(zip(names, expected)) if a != b), min(len(names), len(expected)))
        got = names[first] if first < len(names) else "nothing"
        want = expected[first] if first < len(expected) else "nothing"
        result.add(CheckItem("layer order", False, f"layer {first + 1} is {got}, expected {want}; the sequence is "
                             "conv-ReLU-pool, conv-ReLU-pool, 3 x conv-ReLU, pool, then Linear-ReLU-Dropout twice and a last Linear "
                             "(layers are listed in the order they are assigned in __init__)",
                             expected=" ".join(expected), received=" ".join(names)))
        return False
    result.add(CheckItem("layer order", True))
    conv_layers = [m for m in layers if isinstance(m, Conv2d)]
    for k, (m, (i, o, kernel, stride, padding)) in enumerate(zip(conv_layers, convs), start=1):
        got = (m.in_channels, m.out_channels, m.kernel_size, m.stride, m.padding)
        want = (i, o, (kernel, kernel), (stride, stride), (padding, padding))
        result.add(check_true(f"conv{k} settings", got == want,
                              f"conv{k} has (in, out, kernel, stride, padding) = {got}, expected {want}"))
    pools = [m for m in layers if isinstance(m, MaxPool2d)]
    bad = [k for k, m in enumerate(pools, start=1) if tuple(np.broadcast_to(m.kernel_size, 2)) != (3, 3) or tuple(np.broadcast_to(m.stride, 2)) != (2, 2)]
    result.add(check_true("max-pools are 3x3 with stride 2 (overlapping)", not bad,
                          f"max-pool {bad[0] if bad else ''} should be MaxPool2d(3, 2): AlexNet's pooling windows overlap"))
    lin = [m for m in layers if isinstance(m, Linear)]
    got = [tuple(m.weight.shape[::-1]) for m in lin]
    result.add(check_true("Linear sizes", got == list(linears),
                          f"(in, out) of the three Linear layers are {got}, expected {list(linears)}; "
                          "the features flatten to 256 * 6 * 6 = 9216"))
    drops = [m.p for m in layers if isinstance(m, Dropout)]
    result.add(check_true("dropout p = 0.5", all(p == 0.5 for p in drops), f"Dropout p values are {drops}, expected 0.5 (the drop probability)"))
    return True


def test_alexnet_architecture(AlexNet) -> CheckResult:
    """Build ``AlexNet(num_classes=10)`` and check its layers, parameter count, output and eval mode.

    One 224x224 image goes through the network (about a second on NumPy).
    """
    result = CheckResult("AlexNet")
    np.random.seed(0)
    model, error = run_student("builds AlexNet(num_classes=10)", AlexNet, num_classes=10)
    if error:
        result.add(error)
        return result
    if not isinstance(model, Module):
        result.add(CheckItem("is a Module", False, f"AlexNet should subclass utils.nn.Module, got {type(model).__name__}"))
        return result
    n = count_parameters(model)
    item = check_true("parameter count", n == ALEXNET_PARAMETERS,
                      f"{n:,} parameters, expected {ALEXNET_PARAMETERS:,} (check channel counts, kernel sizes and the 9216 -> 4096 -> 4096 -> 10 head)")
    result.add(item)
    _layer_checks(result, model, ALEXNET_CONVS, ALEXNET_LINEARS)

    _forward_checks(result, model)
    del model  # its 58 million weights and their gradients go before a second AlexNet is built
    _num_classes_check(result, AlexNet, "AlexNet")
    return result


def _forward_checks(result: CheckResult, model: Module) -> None:
    """One image through ``model`` in eval mode: output (1, 10), gradients reach every parameter, no dropout."""
    x = Tensor(np.linspace(0.0, 1.0, 3 * 224 * 224, dtype=np.float32).reshape(1, 3, 224, 224))  # (1, 3, 224, 224)
    model.eval()
    out, error = run_student("forward pass (eval)", model, x)  # with grad on: the output must stay in the graph
    if error:
        result.add(error)
        return
    item = check_shape("output shape", out, (1, 10))
    result.add(item)
    if not item.passed:
        return
    result.add(check_gradients_reach_parameters(model, out))
    with no_grad():
        again, _ = run_student("forward pass (eval, again)", model, x)
    same = again is not None and np.array_equal(asnumpy(out), asnumpy(again))
    result.add(check_true("dropout is inactive in eval mode", same,
                          "two eval-mode forward passes differ: dropout must be the identity in eval mode "
                          "(use utils.nn.Dropout, which follows model.eval())"))


def _num_classes_check(result: CheckResult, cls, name: str) -> None:
    """Build ``cls(num_classes=7)``: its last Linear layer must have 7 outputs."""
    model, error = run_student(f"builds {name}(num_classes=7)", cls, num_classes=7)
    if error:
        result.add(error)
        return
    linears = [m for _, m in model.named_modules() if isinstance(m, Linear)]
    got = linears[-1].out_features if linears else None
    result.add(check_true("num_classes sets the number of outputs", got == 7,
                          f"{name}(num_classes=7) ends in a Linear with {got} outputs: use num_classes, not a fixed 10"))


# ---------------------------------------------------------------------- MiniAlexNet
def test_mini_alexnet(MiniAlexNet) -> CheckResult:
    """Build ``MiniAlexNet(num_classes=10)``: it maps (N, 1, 32, 32) to (N, 10), has at least
    three convolutions, dropout that is active in training and off in evaluation, fewer than 2
    million parameters, and every parameter gets a gradient (what the hidden checks ask too)."""
    result = CheckResult("MiniAlexNet")
    np.random.seed(0)
    model, error = run_student("builds MiniAlexNet(num_classes=10)", MiniAlexNet, num_classes=10)
    if error:
        result.add(error)
        return result
    if not isinstance(model, Module):
        result.add(CheckItem("is a Module", False, f"MiniAlexNet should subclass utils.nn.Module, got {type(model).__name__}"))
        return result
    n_conv = sum(isinstance(m, Conv2d) for _, m in model.named_modules())
    result.add(check_true("at least 3 convolutions", n_conv >= 3, f"found {n_conv} Conv2d layers; stack at least 3"))
    n = count_parameters(model)
    result.add(check_true("small enough to train in a minute", n <= 2_000_000,
                          f"{n:,} parameters; keep it under 2,000,000 so training fits the time budget"))

    x = Tensor(np.linspace(0.0, 1.0, 3 * 32 * 32, dtype=np.float32).reshape(3, 1, 32, 32))  # (3, 1, 32, 32)
    model.train()
    out, error = run_student("forward pass (train)", model, x)
    if error:
        result.add(error)
        return result
    item = check_shape("output shape", out, (3, 10))
    result.add(item)
    if not item.passed:
        return result
    result.add(check_gradients_reach_parameters(model, out))
    _num_classes_check(result, MiniAlexNet, "MiniAlexNet")
    twins = Tensor(np.repeat(x.numpy()[:1], 2, axis=0))  # (2, 1, 32, 32): the same image twice
    with no_grad():
        rows, error = run_student("forward pass on two copies of one image (train)", model, twins)
    if error:
        result.add(error)
        return result
    rows = asnumpy(rows.numpy() if hasattr(rows, "numpy") else rows)
    result.add(check_true("dropout is active in training", rows.shape[0] == 2 and not np.allclose(rows[0], rows[1], rtol=1e-3, atol=1e-5),
                          "two copies of one image got the same scores in training mode: the classifier needs Dropout "
                          "(utils.nn.Dropout) between its Linear layers"))
    model.eval()
    with no_grad():
        a, b = model(x), model(x)
    result.add(check_true("deterministic in eval mode", np.array_equal(asnumpy(a), asnumpy(b)),
                          "two eval-mode forward passes differ: dropout must be the identity in eval mode"))
    return result


__all__ = ["ALEXNET_SIZES", "conv_inputs", "golden_cases", "test_alexnet_architecture", "test_conv2d_naive",
           "test_conv_output_size", "test_mini_alexnet"]
