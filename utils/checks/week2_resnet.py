"""Visible checks for week 2 (ResNet). Each runs in about a second.

Inputs are deterministic (no RNG) with distinct sizes per axis (N=4, C=3, H=5, W=6 for
batch norm) so a swapped axis fails loudly. Modules get their parameters set from
their *shapes* only (``fill_by_shape``), so the checks do not depend on attribute names,
registration order or random initialisation. Batch norm, the blocks and the network are
compared with goldens: the outputs the instructor's reference answers gave for the same
parameters and inputs, stored as data in
``goldens/week2_resnet.npz`` (made by ``golden_cases`` below, through ``python -m grader goldens``).

Common mistakes are named: biased running variance, momentum the wrong way round, batch
statistics in eval mode, statistics over the wrong axes, a forgotten shortcut, ReLU before
the addition, a max-pool where an average belongs.
"""
from __future__ import annotations

import numpy as np

from ..backend import asnumpy
from ..nn.pooling import MaxPool2d
from ..tensor import Tensor
from .delegation import forbids
from .result import CheckItem, CheckResult, check_close, check_gradients_reach_inputs, check_shape, check_true, run_student
from .stored import load_goldens, prefixed, section

WEEK = "week2_resnet"


# ---------------------------------------------------------------------- deterministic values
def wave(shape, phase: float = 0.0, dtype=np.float64) -> np.ndarray:
    """Deterministic, non-degenerate values of ``shape`` (no RNG)."""
    n = int(np.prod(shape))
    k = np.arange(n)
    return (np.sin(k * 0.73 + phase) * 1.2 + np.cos(k * 0.19 + 2 * phase) * 0.5).reshape(shape).astype(dtype)


def shape_values(shape, dtype=np.float64) -> np.ndarray:
    """The value a parameter of ``shape`` gets in the checks: depends on the shape only.

    Scaled by 1/sqrt(fan_in) for weights so activations stay of order one.
    """
    shape = tuple(int(n) for n in shape)
    phase = 0.1 * sum((i + 1) * n for i, n in enumerate(shape))
    values = wave(shape, phase, dtype)
    if len(shape) > 1:
        values = values / np.sqrt(np.prod(shape[1:]))
    return values.astype(dtype)


def shape_state(shapes: dict) -> dict:
    """Values for named parameters ``{name: shape}``: ``shape_values(shape)``, except that a
    convolution's bias (a ``.bias`` beside a 4-D ``.weight``) is zero, so a conv with or
    without a bias gives the same answer."""
    values = {}
    for name, shape in shapes.items():
        sibling = name[: -len("bias")] + "weight" if name.endswith("bias") else None
        if sibling is not None and len(shapes.get(sibling, ())) == 4:
            values[name] = np.zeros(shape)
        else:
            values[name] = shape_values(shape)
    return values


def fill_by_shape(module) -> None:
    """Overwrite every parameter of ``module`` with the values ``shape_state`` gives (in place)."""
    params = dict(module.named_parameters())
    for name, value in shape_state({k: tuple(p.shape) for k, p in params.items()}).items():
        params[name].data[...] = value.astype(params[name].data.dtype)


def running_stats(channels: int, dtype=np.float64):
    """The (running_mean, running_var) every BatchNorm2d of ``channels`` gets in evaluation-mode checks."""
    return (0.2 * wave((channels,), 1.7)).astype(dtype), (1.0 + 0.5 * np.abs(wave((channels,), 2.9))).astype(dtype)


# ---------------------------------------------------------------------- Exercise 1
BN_SHAPE = (4, 3, 5, 6)  # (N, C, H, W)


def batchnorm_inputs(dtype=np.float64):
    """x (4, 3, 5, 6) Tensor, gamma and beta (3,) Tensors, running_mean and running_var (3,) arrays."""
    C = BN_SHAPE[1]
    x = Tensor(wave(BN_SHAPE, 0.3) * np.array([1.0, 3.0, 0.5]).reshape(1, C, 1, 1) + np.array([0.5, -2.0, 1.0]).reshape(1, C, 1, 1), dtype=dtype)
    gamma = Tensor(np.array([1.5, 0.5, 2.0]), dtype=dtype)
    beta = Tensor(np.array([0.1, -0.3, 0.7]), dtype=dtype)
    running_mean = np.array([0.2, -1.0, 0.4], dtype=dtype)
    running_var = np.array([1.5, 4.0, 0.3], dtype=dtype)
    return x, gamma, beta, running_mean, running_var


def batchnorm_goldens(fn) -> dict:
    """The batch-norm case through ``fn`` (the reference answer): training output and updated
    running statistics, and the evaluation-mode output."""
    x, gamma, beta, rm, rv = batchnorm_inputs()
    out, mean, var = fn(x, gamma, beta, rm.copy(), rv.copy(), True)
    evaluated = fn(x, gamma, beta, rm.copy(), rv.copy(), False)[0]
    custom = fn(x, gamma, beta, rm.copy(), rv.copy(), True, *BN_CUSTOM)
    return {"bn/train/out": asnumpy(out), "bn/train/running_mean": asnumpy(mean), "bn/train/running_var": asnumpy(var),
            "bn/eval/out": asnumpy(evaluated), "bn/custom/out": asnumpy(custom[0]), "bn/custom/running_mean": asnumpy(custom[1])}


BN_CUSTOM = (0.3, 1e-2)  # (momentum, eps) other than the defaults


def _triple(raw):
    if not isinstance(raw, (tuple, list)) or len(raw) != 3:
        return None, CheckItem("returns (out, running_mean, running_var)", False,
                               f"expected a tuple of three, got {type(raw).__name__}"
                               + (f" of length {len(raw)}" if isinstance(raw, (tuple, list)) else ""))
    try:
        return tuple(np.asarray(asnumpy(v), dtype=np.float64) for v in raw), None
    except (TypeError, ValueError):
        return None, CheckItem("returns arrays or Tensors", False, "each of the three results must be an array or a Tensor")


@forbids("week2_resnet", "batchnorm")
def test_batchnorm2d_forward(fn) -> CheckResult:
    """Check ``fn(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5)``
    against stored outputs (PyTorch's conventions), in training and in evaluation mode."""
    result = CheckResult("batchnorm2d_forward")
    x, gamma, beta, rm, rv = batchnorm_inputs()
    n, c, h, w = BN_SHAPE
    count = n * h * w
    xs = x.numpy()
    batch_mean = xs.mean(axis=(0, 2, 3))
    batch_var = xs.var(axis=(0, 2, 3))

    # training mode
    given_mean, given_var = rm.copy(), rv.copy()
    raw, error = run_student("runs (training=True)", fn, x, gamma, beta, given_mean, given_var, True)
    if error:
        result.add(error)
        return result
    untouched = np.array_equal(given_mean, rm) and np.array_equal(given_var, rv)
    result.add(check_true("leaves the caller's running statistics unchanged", untouched,
                          "the running_mean or running_var passed in was modified in place (`*=`, `+=`, `[...] =`, out=): "
                          "compute new arrays and return them, as the caller (a layer, a second model) may still hold the old ones"))
    got, error = _triple(raw)
    if error:
        result.add(error)
        return result
    out, new_mean, new_var = got
    shapes = [check_shape("output shape (training)", out, BN_SHAPE),
              check_shape("running_mean shape", new_mean, (c,)), check_shape("running_var shape", new_var, (c,))]
    for item in shapes:
        result.add(item)
    if not all(item.passed for item in shapes):
        return result
    golden = section(load_goldens(WEEK), "bn/train")
    ref_out, ref_mean, ref_var = golden["out"], golden["running_mean"], golden["running_var"]
    item = check_close("output (training: batch statistics)", out, ref_out, rtol=1e-5, atol=1e-6)
    if not item.passed:
        standardized = (out - beta.numpy().reshape(1, c, 1, 1)) / gamma.numpy().reshape(1, c, 1, 1)
        if not np.allclose(standardized.mean(axis=(0, 2, 3)), 0.0, atol=1e-4):
            item.message = ("likely cause: statistics over the wrong axes; each channel's mean and variance are taken "
                            "over the batch AND both spatial axes, axis=(0, 2, 3). " + item.message)
        else:
            g4, b4 = gamma.numpy().reshape(1, c, 1, 1), beta.numpy().reshape(1, c, 1, 1)
            unbiased = (xs - batch_mean.reshape(1, c, 1, 1)) / np.sqrt(xs.var(axis=(0, 2, 3), ddof=1).reshape(1, c, 1, 1) + 1e-5) * g4 + b4
            if np.allclose(out, unbiased, atol=1e-6):
                item.message = "likely cause: normalising with the unbiased variance; the output uses the biased one (divide by n). " + item.message
    result.add(item)
    item = check_close("running_mean updated", new_mean, ref_mean, rtol=1e-6, atol=1e-8)
    if not item.passed and np.allclose(new_mean, 0.9 * batch_mean + 0.1 * rm, atol=1e-8):
        item.message = "likely cause: momentum the wrong way round; running = (1 - momentum) * running + momentum * batch. " + item.message
    elif not item.passed and np.allclose(new_mean, rm, atol=1e-8):
        item.message = "the running mean was not updated in training mode. " + item.message
    result.add(item)
    item = check_close("running_var updated (unbiased)", new_var, ref_var, rtol=1e-6, atol=1e-8)
    if not item.passed and np.allclose(new_var, 0.9 * rv + 0.1 * batch_var, atol=1e-8):
        item.message = (f"likely cause: the biased batch variance went into the running average; PyTorch stores the "
                        f"unbiased one, var * n / (n - 1) with n = N*H*W = {count}. " + item.message)
    elif not item.passed and np.allclose(new_var, 0.9 * batch_var * count / (count - 1) + 0.1 * rv, atol=1e-8):
        item.message = "likely cause: momentum the wrong way round; running = (1 - momentum) * running + momentum * batch. " + item.message
    result.add(item)
    raw, error = run_student("runs (momentum=0.3, eps=0.01)", fn, x, gamma, beta, rm.copy(), rv.copy(), True, *BN_CUSTOM)
    got, error = (None, error) if error else _triple(raw)
    if error:
        result.add(error)
        return result
    golden = section(load_goldens(WEEK), "bn/custom")
    for key, value in (("out", got[0]), ("running_mean", got[1])):
        item = check_close(f"{key} with momentum=0.3, eps=0.01", value, golden[key], rtol=1e-5, atol=1e-6)
        if not item.passed:
            item.message = "likely cause: a fixed momentum or eps; use the momentum and eps arguments. " + item.message
        result.add(item)
    result.add(check_gradients_reach_inputs(lambda x_, g_, b_: fn(x_, g_, b_, rm.copy(), rv.copy(), True),
                                            {"x": x, "gamma": gamma, "beta": beta}, "gradients reach x, gamma and beta"))

    # evaluation mode
    raw, error = run_student("runs (training=False)", fn, x, gamma, beta, rm.copy(), rv.copy(), False)
    if error:
        result.add(error)
        return result
    got, error = _triple(raw)
    if error:
        result.add(error)
        return result
    out, new_mean, new_var = got
    ref_out = load_goldens(WEEK)["bn/eval/out"]
    item = check_close("output (evaluation: running statistics)", out, ref_out, rtol=1e-5, atol=1e-6)
    if not item.passed and np.allclose(out, load_goldens(WEEK)["bn/train/out"], atol=1e-6):
        item.message = "likely cause: batch statistics used in evaluation mode; use running_mean and running_var there. " + item.message
    result.add(item)
    unchanged = new_mean.shape == rm.shape and new_var.shape == rv.shape and np.allclose(new_mean, rm) and np.allclose(new_var, rv)
    result.add(CheckItem("running statistics unchanged in evaluation", unchanged, "" if unchanged else
                         "evaluation mode must return the running statistics as they were"))
    return result


# ---------------------------------------------------------------------- Exercise 2
def block_input(n=2, c=4, h=6, w=5, dtype=np.float64) -> Tensor:
    """A deterministic (N, C, H, W) input with positive and negative entries."""
    return Tensor(wave((n, c, h, w), 0.9), dtype=dtype)


def _build(cls, *args, **kwargs):
    model, error = run_student("builds", cls, *args, **kwargs)
    if error is None:
        try:
            model.to(dtype=np.float64)
            model.train()
        except Exception as exc:  # noqa: BLE001 - reported to the student
            return None, CheckItem("builds", False, f"the model could not be moved to float64: {type(exc).__name__}: {exc}")
    return model, error


BLOCK_CASES = {"same_shape": (4, 4, 1), "downsampling": (4, 6, 2), "more_channels": (4, 6, 1)}  # ResidualBlock(in, out, stride)
RESNET_INPUT = (3, 1, 8, 8)
RESNET_CLASSES = 7


def block_output(block) -> np.ndarray:
    """The case: ``block``'s output (training mode, ``fill_by_shape`` parameters) for ``block_input()``."""
    fill_by_shape(block)
    return asnumpy(block(block_input()))


def resnet_logits(model) -> np.ndarray:
    """The case: ``model``'s logits (training mode, ``fill_by_shape`` parameters) for a (3, 1, 8, 8) batch."""
    fill_by_shape(model)
    return asnumpy(model(Tensor(wave(RESNET_INPUT, 0.4), dtype=np.float64)))


def _float64_train(model):
    model.to(dtype=np.float64)
    model.train()
    return model


def golden_cases(namespace) -> dict[str, np.ndarray]:
    """Run the cases through ``batchnorm2d_forward``, ``ResidualBlock`` and ``SimpleResNet`` in
    ``namespace`` (the reference answers, for ``python -m grader goldens``)."""
    out = {}
    for label, (c_in, c_out, stride) in BLOCK_CASES.items():
        out[f"block/{label}"] = block_output(_float64_train(namespace["ResidualBlock"](c_in, c_out, stride=stride)))
    out.update(prefixed("resnet", {"logits": resnet_logits(_float64_train(namespace["SimpleResNet"](num_classes=RESNET_CLASSES)))}))
    out.update(batchnorm_goldens(namespace["batchnorm2d_forward"]))
    return out


def test_resnet_skip_connection(cls) -> CheckResult:
    """Check ``ResidualBlock(in_channels, out_channels, stride=1)``: shapes with and without
    downsampling, the value of the output, ReLU(x) when the residual branch is zero, and a
    gradient that reaches the input through the shortcut."""
    result = CheckResult("ResidualBlock")
    golden = section(load_goldens(WEEK), "block")
    for label, args in BLOCK_CASES.items():
        words = label.replace("_", " ")
        expected = golden[label]
        block, error = _build(cls, args[0], args[1], stride=args[2])
        if error:
            result.add(error)
            return result
        out, error = run_student(f"forward ({words})", block_output, block)
        if error:
            if label == "more_channels":
                error.message = ("with stride 1 but a new channel count the shortcut must still project: "
                                 "Conv2d(in, out, 1) + BatchNorm2d(out) when stride != 1 OR in_channels != out_channels. " + error.message)
            result.add(error)
            return result
        item = check_shape(f"output shape ({words}: ResidualBlock{args})", out, expected.shape)
        if not item.passed and label == "downsampling":
            item.message = ("the first 3x3 conv and the 1x1 shortcut conv both take the stride, and both map "
                            "in_channels to out_channels. " + item.message)
        result.add(item)
        if not item.passed:
            return result
        shapes = sorted(tuple(p.shape) for _, p in block.named_parameters())
        if args[0] != args[1] or args[2] != 1:
            has_proj = (6, 4, 1, 1) in shapes
            result.add(CheckItem("shortcut is a 1x1 conv when the shape changes", has_proj, "" if has_proj else
                                 "when stride != 1 or the channel count changes, the shortcut must be Conv2d(in, out, 1, stride) "
                                 "followed by BatchNorm2d(out)"))
        else:
            extra = [s for s in shapes if len(s) == 4 and s[2:] == (1, 1)]
            result.add(CheckItem("identity shortcut when the shape is kept", not extra, "" if not extra else
                                 "with stride 1 and equal channel counts the shortcut is the identity (no 1x1 conv)"))
        item = check_close(f"output values ({words})", asnumpy(out), expected, rtol=1e-6, atol=1e-8)
        if not item.passed:
            item.message = ("expected conv3x3(stride, padding=1, bias=False) -> BN -> ReLU -> conv3x3(padding=1, bias=False) -> BN, "
                            "plus the shortcut, then ReLU (the check below, with the residual branch switched off, "
                            "may say more). " + item.message)
        result.add(item)

    # residual branch switched off: every parameter zero, identity shortcut
    block, error = _build(cls, 4, 4)
    if error:
        result.add(error)
        return result
    for _, p in block.named_parameters():
        p.data[...] = 0.0
    xg = block_input()
    xg.requires_grad_(True)
    out, error = run_student("forward (residual branch zeroed)", block, xg)
    if error:
        result.add(error)
        return result
    got = asnumpy(out)
    xs = xg.numpy()
    item = check_close("zero residual branch gives ReLU(x)", got, np.maximum(xs, 0.0), rtol=1e-6, atol=1e-8)
    if not item.passed:
        if np.allclose(got, 0.0):
            item.message = ("likely cause: the shortcut was forgotten; the output is all zeros, so the input never reaches "
                            "the output: add the block's input (or its projection) before the last ReLU. " + item.message)
        elif np.allclose(got, xs):
            item.message = ("likely cause: ReLU applied before the addition (or no ReLU after it); the output is x itself, "
                            "and the order is relu(bn2(conv2(...)) + shortcut(x)). " + item.message)
    result.add(item)
    if not item.passed:
        return result
    try:
        out.sum().backward()
        grad = None if xg.grad is None else asnumpy(xg.grad)
    except Exception as exc:  # noqa: BLE001 - reported to the student
        result.add(CheckItem("backward runs", False, f"backward failed: {type(exc).__name__}: {exc}"))
        return result
    ok = grad is not None and np.allclose(grad, (xs > 0).astype(np.float64))
    result.add(CheckItem("gradient reaches the input through the shortcut", ok, "" if ok else
                         "with the residual branch off, d(sum of outputs)/dx should be 1 where x > 0 and 0 elsewhere; "
                         "use Tensor operations (+, .relu()) so the gradient flows through the shortcut"))
    return result


# ---------------------------------------------------------------------- Exercise 3
RESNET_CONVS = [(64, 1, 3, 3), (64, 64, 3, 3), (64, 64, 3, 3), (128, 64, 3, 3), (128, 128, 3, 3), (128, 64, 1, 1),
                (256, 128, 3, 3), (256, 256, 3, 3), (256, 128, 1, 1)]


def test_simple_resnet(cls) -> CheckResult:
    """Check ``SimpleResNet(num_classes)``: layer shapes, output shape, average pooling and the logits."""
    result = CheckResult("SimpleResNet")
    model, error = _build(cls, num_classes=RESNET_CLASSES)
    if error:
        result.add(error)
        return result
    shapes = [tuple(p.shape) for _, p in model.named_parameters()]
    convs = sorted(s for s in shapes if len(s) == 4)
    missing = [s for s in RESNET_CONVS if s not in convs]
    result.add(CheckItem("convolutions: stem, then stages of 64, 128 and 256 channels", not missing and len(convs) == len(RESNET_CONVS),
                         "" if not missing and len(convs) == len(RESNET_CONVS) else
                         f"expected conv weights {sorted(RESNET_CONVS)}, found {convs}"))
    head = (RESNET_CLASSES, 256) in shapes
    result.add(CheckItem("Linear(256, num_classes) head", head, "" if head else
                         "the head maps the 256 pooled features to num_classes logits: Linear(256, num_classes)"))
    pools = [type(m).__name__ for m in model.modules() if isinstance(m, MaxPool2d)]
    result.add(CheckItem("global pooling averages", not pools, "" if not pools else
                         "found a MaxPool2d: global pooling must be an average over H and W (AdaptiveAvgPool2d(1))"))
    expected = load_goldens(WEEK)["resnet/logits"]
    out, error = run_student("forward on a (3, 1, 8, 8) batch", resnet_logits, model)
    if error:
        result.add(error)
        return result
    item = check_shape("logits shape", out, expected.shape)
    result.add(item)
    if not item.passed:
        return result
    item = check_close("logits", asnumpy(out), expected, rtol=1e-6, atol=1e-8)
    if not item.passed and pools:
        item.message = "likely cause: global max-pooling; average over H and W instead. " + item.message
    result.add(item)
    return result


__all__ = ["batchnorm_inputs", "block_input", "fill_by_shape", "golden_cases", "shape_state", "running_stats",
           "shape_values", "test_batchnorm2d_forward", "test_resnet_skip_connection", "test_simple_resnet", "wave"]
