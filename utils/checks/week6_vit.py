"""Visible checks for week 6 (Vision Transformer). Each runs in about a second.

Inputs are deterministic (no RNG) with distinct sizes per axis, so a swapped axis fails
loudly. Patches are compared with a plain looped reference; the model is compared with
goldens: the logits the instructor's reference answer gave for the same deterministic
weights and images, stored as data in ``goldens/week6_vit.npz`` (made by ``golden_cases``
below, through ``python -m grader goldens``). Common
mistakes are named: patch pixels flattened in the wrong order, patches in column-major
order, a plain reshape that mixes pixels of different patches, a head that averages the
tokens instead of reading the class token, missing position embeddings, post-norm layers.
"""
from __future__ import annotations

import numpy as np

from ..backend import asnumpy
from ..nn import Linear, Module, Parameter
from ..tensor import Tensor, no_grad
from .delegation import forbids
from .encoder_diagnosis import first_hint, layers_off
from .result import CheckItem, CheckResult, check_close, check_gradients_reach_inputs, check_shape, earlier_exercise_failing, run_student
from .stored import load_goldens, prefixed, section

WEEK = "week6_vit"

# ---------------------------------------------------------------------- deterministic inputs


def waves(shape, phase: float = 0.0, dtype=np.float32) -> np.ndarray:
    """Deterministic, non-degenerate values of ``shape`` (no RNG involved)."""
    n = int(np.prod(shape))
    k = np.arange(n)
    return (np.sin(k * 0.37 + phase) * 0.8 + np.cos(k * 0.11 + 2 * phase) * 0.3).reshape(shape).astype(dtype)


# The two patch cases: images (N, C, H, W), patch side, and the Linear weights of the embedding case.
PATCH_IMAGES = ((2, 3, 8, 12), 0.3)   # 2 x 3 = 6 patches of 3 * 4 * 4 = 48 values
EMBED_CASE = dict(img_size=12, patch_size=4, in_channels=3, d_model=10, batch=2)


def _patch_images():
    shape, phase = PATCH_IMAGES
    return waves(shape, phase)


def _embed_images():
    c = EMBED_CASE
    return waves((c["batch"], c["in_channels"], c["img_size"], c["img_size"]), 0.4)


def _embed_weights():
    c = EMBED_CASE
    patch_dim = c["in_channels"] * c["patch_size"] ** 2
    return waves((c["d_model"], patch_dim), 0.9) * 0.2, waves((c["d_model"],), 2.1)


def _patch_variants(patches: np.ndarray, images_shape, p: int) -> dict:
    """Two typical mistakes made from the right patches (N, n, C*p*p): pixels flattened as
    (row, column, channel) inside a patch, and patches numbered column by column."""
    N, C, H, W = images_shape
    rows, cols = H // p, W // p
    hwc = patches.reshape(N, rows * cols, C, p, p).transpose(0, 1, 3, 4, 2).reshape(N, rows * cols, -1)
    column = patches[:, [r * cols + c for c in range(cols) for r in range(rows)]]
    return {"hwc": hwc, "column": column}


def patch_goldens(extract_patches) -> dict:
    """The patch cases through ``extract_patches`` (a reference answer): values, two typical
    mistakes, and the gradient an upstream sends back to the images."""
    images = _patch_images()
    expected = asnumpy(extract_patches(images, 4))
    out = {"patches/expected": expected}
    out.update(prefixed("patches/variant", _patch_variants(expected, images.shape, 4)))
    x = Tensor(images, requires_grad=True)
    extract_patches(x, 4).backward(waves(expected.shape, 1.7))
    out["patches/gradient"] = asnumpy(x.grad)
    images = _embed_images()
    embedded = asnumpy(extract_patches(images, EMBED_CASE["patch_size"]))
    out["embed/patches"] = embedded
    out.update(prefixed("embed/variant", _patch_variants(embedded, images.shape, EMBED_CASE["patch_size"])))
    return out


def _diagnose_patches(prefix: str, images, p, received, transform=lambda patches: patches) -> str:
    """Name the likely mistake when ``received`` differs from ``transform(the right patches)``."""
    received = np.asarray(received, dtype=np.float64)
    variants = section(load_goldens(WEEK), f"{prefix}/variant")
    N, C, H, W = images.shape
    guesses = (
        (variants["hwc"], "the pixels inside each patch are flattened as (row, column, channel); "
         "the convention is (channel, row, column), like a Conv2d weight: put the channel axis before the two in-patch axes"),
        (variants["column"], "the patches come in column-major order; number them left to right "
         "along the top row first (row-major): the patch-row axis goes before the patch-column axis"),
        (images.reshape(N, (H // p) * (W // p), C * p * p), "a plain reshape without a transpose mixes pixels of different "
         "patches: reshape to (N, C, H/p, p, W/p, p) first, then move the axes"),
    )
    for guess, hint in guesses:
        guess = transform(guess)
        if guess.shape == received.shape and np.allclose(guess, received, atol=1e-6):
            return hint
    return ""


# ---------------------------------------------------------------------- Exercise 1


@forbids("week6_vit", "patches")
def test_extract_patches(fn) -> CheckResult:
    """Check ``fn(images, patch_size)`` on a NumPy batch and on a Tensor (values and gradient)."""
    result = CheckResult("extract_patches")
    images = _patch_images()  # N=2, C=3, H=8, W=12 -> 2 x 3 = 6 patches of 3 * 4 * 4 = 48
    expected = load_goldens(WEEK)["patches/expected"]

    out, error = run_student("runs on a NumPy array", fn, images, 4)
    if error:
        result.add(error)
        return result
    same_kind = isinstance(out, np.ndarray)
    result.add(CheckItem("a NumPy array in gives a NumPy array out", same_kind, "" if same_kind else
                         f"got a {type(out).__name__}: return the same kind as the input (reshape and transpose the array "
                         "itself; only a Tensor input gives a Tensor)"))
    if not same_kind:
        return result
    shape = result.add(check_shape("shape (N, num_patches, C*p*p)", out, (2, 6, 48)))
    if not shape.passed:
        return result
    values = check_close("patches match", out, expected, rtol=1e-6, atol=1e-7)
    if not values.passed:
        hint = _diagnose_patches("patches", images, 4, asnumpy(out))
        if hint:
            values.message = f"likely cause: {hint}. " + values.message
    result.add(values)
    if not values.passed:
        return result
    out64, error = run_student("runs on a float64 array", fn, images.astype(np.float64), 4)
    if error:
        result.add(error)
        return result
    dtype = np.asarray(asnumpy(out64)).dtype
    result.add(CheckItem("keeps the input's dtype (float64 in, float64 out)", dtype == np.float64, "" if dtype == np.float64 else
                         f"a float64 batch came back as {dtype}: reshape and transpose only, no .astype(...) or new dtype"))

    x = Tensor(images, requires_grad=True)
    out, error = run_student("runs on a utils Tensor", fn, x, 4)
    if error:
        result.add(error)
        return result
    if not isinstance(out, Tensor):
        result.add(CheckItem("a Tensor in gives a Tensor out", False,
                             f"got a {type(out).__name__}: use the Tensor's own reshape and permute so that gradients can flow"))
        return result
    result.add(check_close("Tensor input gives the same patches", out.numpy(), expected, rtol=1e-6, atol=1e-7))
    upstream = waves((2, 6, 48), 1.7)
    if not out.requires_grad:
        result.add(CheckItem("gradient reaches the images", False, "the output does not require grad, so no gradient can reach "
                             "the images: it was built outside the Tensor graph (through NumPy?); use the Tensor's reshape and permute"))
        return result
    try:
        out.backward(upstream)
    except Exception as exc:  # noqa: BLE001 - a student's graph may break in many ways
        result.add(CheckItem("gradient reaches the images", False, f"backward raised {type(exc).__name__}: {exc}"))
        return result
    if x.grad is None:
        result.add(CheckItem("gradient reaches the images", False,
                             "no gradient reached the input: the result was built outside the Tensor graph (NumPy?)"))
        return result
    result.add(check_close("gradient reaches the images", x.grad, load_goldens(WEEK)["patches/gradient"], rtol=1e-5, atol=1e-6))
    return result


# ---------------------------------------------------------------------- Exercise 2


def _set_linear(model, name: str, weight, bias) -> None:
    """Load ``weight``/``bias`` into the Linear ``name`` of ``model``, keeping every other entry."""
    state = {k: asnumpy(v) for k, v in model.state_dict().items()}
    state[f"{name}.weight"] = weight
    state[f"{name}.bias"] = bias
    model.load_state_dict(state)


def _patch_embedding_case(cls, result: CheckResult, label: str, img_size, patch_size, in_channels, d_model, batch) -> bool:
    model, error = run_student(f"builds ({label})", cls, img_size=img_size, patch_size=patch_size,
                               in_channels=in_channels, d_model=d_model)
    if error:
        result.add(error)
        return False
    n_patches = (img_size // patch_size) ** 2
    patch_dim = in_channels * patch_size * patch_size
    got = getattr(model, "n_patches", None)
    if not result.add(CheckItem(f"n_patches ({label})", got == n_patches,
                                "" if got == n_patches else f"n_patches should be (img_size // patch_size) ** 2 = {n_patches}, got {got!r}")).passed:
        return False
    proj = getattr(model, "proj", None)
    if not isinstance(proj, Linear):
        result.add(CheckItem(f"proj is a Linear ({label})", False,
                             f"expected an attribute `proj` holding a Linear layer, got {type(proj).__name__}"))
        return False
    weight = check_shape(f"proj.weight shape ({label})", proj.weight, (d_model, patch_dim))
    if not weight.passed:
        weight.message += f"; the projection maps C*p*p = {patch_dim} pixel values to d_model = {d_model}: Linear({patch_dim}, {d_model})"
        result.add(weight)
        return False
    result.add(weight)
    W, b = _embed_weights()
    _set_linear(model, "proj", W, b)
    images = _embed_images()
    out, error = run_student(f"forward ({label})", model, Tensor(images))
    if error:
        result.add(error)
        return False
    if not result.add(check_shape(f"output shape ({label})", out, (batch, n_patches, d_model))).passed:
        return False
    values = check_close(f"output values ({label})", out, load_goldens(WEEK)["embed/patches"] @ W.T + b, rtol=1e-4, atol=1e-5)
    if not values.passed:
        hint = _diagnose_patches("embed", images, patch_size, asnumpy(out), lambda patches: patches @ W.T + b)
        if hint:
            values.message = f"likely cause: {hint}. " + values.message
        values.message = earlier_exercise_failing(cls, (("Exercise 1 (extract_patches)", test_extract_patches, ("extract_patches",)),),
                                                  values.message)
    result.add(values)
    if values.passed:
        grads = result.add(check_gradients_reach_inputs(model, {"images": images}, f"gradients reach the images ({label})"))
        return grads.passed
    return values.passed


@forbids("week6_vit", "patch_embedding")
def test_vit_patch_embedding(cls) -> CheckResult:
    """Check ``PatchEmbedding`` on small sizes (values) and at the defaults (shapes)."""
    result = CheckResult("PatchEmbedding")
    if not _patch_embedding_case(cls, result, "12x12 image, 4x4 patches, 3 channels", 12, 4, 3, 10, 2):
        return result
    model, error = run_student("builds with the defaults", cls)
    if error:
        result.add(error)
        return result
    got = getattr(model, "n_patches", None)
    result.add(CheckItem("defaults: 196 patches of a 224x224 image", got == 196,
                         "" if got == 196 else f"PatchEmbedding() should cut a 224x224 image into 14 x 14 = 196 patches, n_patches is {got!r}"))
    out, error = run_student("forward with the defaults", model, Tensor(waves((1, 3, 224, 224), 0.2)))
    if error:
        result.add(error)
        return result
    result.add(check_shape("defaults: output shape", out, (1, 196, 768)))
    return result


# ---------------------------------------------------------------------- Exercise 3


def vit_state(model: Module, dtype=np.float32) -> dict:
    """Deterministic weights for every entry of ``model``'s state dict, in its order (LayerNorm scales near 1)."""
    state = {}
    for i, (name, value) in enumerate(model.state_dict().items()):
        shape = tuple(value.shape)
        scale = 0.3 if len(shape) >= 2 else 0.1
        values = waves(shape, 0.5 + 0.77 * i, np.float64) * scale
        if name.startswith("norm") or ".norm" in name:
            values = values + (1.0 if name.endswith("weight") else 0.0)
        state[name] = values.astype(dtype)
    return state


def _name_mismatch(got, expected) -> str:
    missing, extra = sorted(set(expected) - set(got)), sorted(set(got) - set(expected))
    parts = []
    if missing:
        parts.append(f"missing {', '.join(missing[:4])}" + (" ..." if len(missing) > 4 else ""))
    if extra:
        parts.append(f"unexpected {', '.join(extra[:4])}" + (" ..." if len(extra) > 4 else ""))
    return "; ".join(parts)


VIT_CONFIG = dict(img_size=8, patch_size=2, in_channels=2, num_classes=3, d_model=8, num_heads=2, num_layers=2, d_ff=12)  # a 4x4 grid of 16 patches, as trained


def _vit_images() -> np.ndarray:
    return waves((2, VIT_CONFIG["in_channels"], VIT_CONFIG["img_size"], VIT_CONFIG["img_size"]), 0.6)


def vit_logits(model) -> np.ndarray:
    """The case: the logits of ``model`` (weights already loaded) for the fixed images."""
    model.eval()
    with no_grad():
        return asnumpy(model(Tensor(_vit_images())))


def golden_cases(namespace) -> dict[str, np.ndarray]:
    """Run the cases through the ``VisionTransformer`` in ``namespace`` (the reference answer, for
    ``python -m grader goldens``): the weights it is given, its logits, and its logits without
    position embeddings (for the diagnosis)."""
    model = namespace["VisionTransformer"](**VIT_CONFIG)
    state = vit_state(model)
    model.load_state_dict(state)
    out = prefixed("vit/state", state)
    out["vit/logits"] = vit_logits(model)
    model.load_state_dict(dict(state, pos_embed=np.zeros_like(state["pos_embed"])))
    out["vit/variant/no_pos"] = vit_logits(model)
    out.update(patch_goldens(namespace["extract_patches"]))
    return out


def _diagnose_vit(model, state: dict, golden: dict, received: np.ndarray) -> str:
    hint = first_hint(model, received, golden["variant/no_pos"],
                      post_norm="the encoder layers are post-norm; build them with norm_first=True (pre-norm, as in ViT)",
                      no_positions="the position embeddings were not added to the tokens (add pos_embed after prepending the class token)")
    if hint:
        return hint
    try:  # every layer switched off: the logits may depend on the class token and pos_embed[0] only
        model.load_state_dict(layers_off(state))
        probe = vit_logits(model)
    except Exception:  # noqa: BLE001 - a diagnosis only
        return ""
    finally:
        model.load_state_dict(state)
    if not np.allclose(probe, probe[:1], rtol=1e-4, atol=1e-5):
        return "the head reads the mean of all tokens; it must read the class token (position 0) only"
    token = state["cls_token"].reshape(-1) + state["pos_embed"][0, 0]
    if np.allclose(probe, token @ state["head.weight"].T + state["head.bias"], rtol=1e-4, atol=1e-5):
        return "the final LayerNorm is missing: apply self.norm before the head"
    return ""


def test_vision_transformer(cls) -> CheckResult:
    """Check ``VisionTransformer``: parameter layout, output shape and values for given weights."""
    result = CheckResult("VisionTransformer")
    cfg = VIT_CONFIG
    model, error = run_student("builds", cls, **cfg)
    if error:
        result.add(error)
        return result
    golden = section(load_goldens(WEEK), "vit")
    state = section(golden, "state")
    D, n = cfg["d_model"], (cfg["img_size"] // cfg["patch_size"]) ** 2
    for attr, shape, hint in (("cls_token", (1, 1, D), "one learnable token of width d_model"),
                              ("pos_embed", (1, n + 1, D), "one learnable vector per token: the class token plus every patch")):
        value = getattr(model, attr, None)
        if not isinstance(value, Parameter):
            result.add(CheckItem(f"{attr} is a Parameter", False,
                                 f"expected `self.{attr}` to be a Parameter (so the optimizer trains it), got {type(value).__name__}"))
            return result
        item = check_shape(f"{attr} shape", value, shape)
        if not item.passed:
            item.message += f" ({hint})"
        if not result.add(item).passed:
            return result
    head = getattr(model, "head", None)
    if not result.add(CheckItem("head is a Linear(d_model, num_classes)", isinstance(head, Linear) and tuple(head.weight.shape) == (cfg["num_classes"], D),
                                f"expected `self.head = Linear({D}, {cfg['num_classes']})`")).passed:
        return result
    with no_grad():
        out, error = run_student("forward", model, Tensor(_vit_images()))
    if error:
        result.add(error)
        return result
    if not result.add(check_shape("output shape (N, num_classes)", out, (2, cfg["num_classes"]))).passed:
        return result

    mismatch = _name_mismatch(list(model.state_dict()), list(state))
    if not result.add(CheckItem("parameter names follow the layout in the docstring", not mismatch,
                                "" if not mismatch else f"{mismatch}: name the parts patch_embed, cls_token, pos_embed, "
                                "layers (a ModuleList of TransformerEncoderLayer), norm and head")).passed:
        return result
    model.load_state_dict(state)
    received, error = run_student("forward with set weights", vit_logits, model)
    if error:
        result.add(error)
        return result
    values = check_close("logits match the reference for the same weights", received, golden["logits"], rtol=1e-4, atol=1e-5)
    if not values.passed:
        hint = _diagnose_vit(model, state, golden, asnumpy(received))
        if hint:
            values.message = f"likely cause: {hint}. " + values.message
        values.message = earlier_exercise_failing(cls, (("Exercise 1 (extract_patches)", test_extract_patches, ("extract_patches",)),
                                                        ("Exercise 2 (PatchEmbedding)", test_vit_patch_embedding, ("PatchEmbedding",))),
                                                  values.message)
    result.add(values)
    return result


__all__ = ["VIT_CONFIG", "golden_cases", "test_extract_patches",
           "test_vision_transformer", "test_vit_patch_embedding", "vit_state", "waves"]
