"""Visible checks for week 9 (images and words in one space). Each runs in about a second.

Inputs are deterministic (no RNG) with distinct sizes per axis (N images, M texts, D features),
so a swapped axis fails loudly. Expected values are goldens: what the instructor's reference
answers gave for the same inputs and weights, stored in ``goldens/week9_multimodal.npz`` (made
by ``golden_cases`` below through ``python -m grader goldens``). Mistakes are named from
probes of the student's own code (a loss that changes when images and texts swap roles, a
loss that stays high when every pair is already matched, a caption whose vector moves when
more padding is added) and from stored variant outputs: embeddings not normalised, the
temperature applied the wrong way up, the loss computed in one direction only, targets off
the diagonal, padding leaking into the text embedding, positions missing.
"""
from __future__ import annotations

import math

import numpy as np

from ..backend import asnumpy
from ..nn import Embedding, LayerNorm, Linear, Module, ModuleList, PositionalEncoding
from ..tensor import Tensor, no_grad
from .encoder_diagnosis import first_hint, layers_off
from .result import CheckItem, CheckResult, check_close, check_gradients_reach_parameters, check_shape, run_student
from .stored import load_goldens, prefixed, section

WEEK = "week9_multimodal"
PAD = 0  # the word id that fills short captions up to a common length


def waves(shape, phase: float = 0.0, dtype=np.float32) -> np.ndarray:
    """Deterministic, non-degenerate values of ``shape`` (no RNG involved)."""
    n = int(np.prod(shape))
    k = np.arange(n)
    return (np.sin(k * 0.37 + phase) * 0.8 + np.cos(k * 0.11 + 2 * phase) * 0.3).reshape(shape).astype(dtype)


# ---------------------------------------------------------------------- Exercise 1 case
LOGIT_SCALE = 1.2  # exp(1.2) = 3.32: a temperature of 0.30


def _features():
    """(3, 5) image features and (4, 5) text features with rows of different lengths."""
    images = waves((3, 5), 0.3) * np.array([[0.5], [2.0], [1.1]], dtype=np.float32)  # (3, 5)
    texts = waves((4, 5), 1.1) * np.array([[1.7], [0.4], [1.0], [3.0]], dtype=np.float32)  # (4, 5)
    return images, texts


def _scale_tensor(value=LOGIT_SCALE, dtype=np.float32):
    return Tensor(np.array(value, dtype=dtype), dtype=dtype)


def logits_goldens(clip_logits) -> dict:
    """The case through a reference ``clip_logits``: values and the gradients of a weighted sum."""
    images, texts = _features()
    a = Tensor(images.astype(np.float64), requires_grad=True, dtype=np.float64)
    b = Tensor(texts.astype(np.float64), requires_grad=True, dtype=np.float64)
    s = Tensor(np.array(LOGIT_SCALE), requires_grad=True, dtype=np.float64)
    out = clip_logits(a, b, s)
    out.backward(waves((3, 4), 0.8, np.float64))
    return {"logits/expected": asnumpy(out.numpy()), "logits/grad_images": asnumpy(a.grad),
            "logits/grad_texts": asnumpy(b.grad), "logits/grad_scale": np.asarray(asnumpy(s.grad))}


def _diagnose_logits(received: np.ndarray, expected: np.ndarray) -> str:
    images, texts = _features()
    scale = math.exp(LOGIT_SCALE)
    row = np.linalg.norm(images, axis=1, keepdims=True)  # (3, 1)
    col = np.linalg.norm(texts, axis=1)[None, :]  # (1, 4)
    guesses = (
        (scale * images @ texts.T, "the embeddings are not normalised: divide each row of both feature matrices by its "
         "length before the dot products, so that only directions count"),
        (expected * col, "the text features are not normalised (the image features are): divide each text row by its length too"),
        (expected * row, "the image features are not normalised (the text features are): divide each image row by its length too"),
        (expected / scale ** 2, "the temperature is applied the wrong way up: the cosines are divided by exp(logit_scale); "
         "multiply by it instead (exp(logit_scale) = 1 / temperature, and a low temperature must sharpen)"),
        (expected * LOGIT_SCALE / scale, "logit_scale is used as the scale itself; it is the log of the scale: multiply by "
         "logit_scale.exp()"),
        (expected / scale, "the cosines are not scaled: multiply them by logit_scale.exp()"),
    )
    for guess, hint in guesses:
        if guess.shape == received.shape and np.allclose(guess, received, rtol=1e-4, atol=1e-5):
            return hint
    return ""


def test_clip_logits(fn) -> CheckResult:
    """Check ``fn(image_features, text_features, logit_scale)``: shape, values, scale invariance, gradients."""
    result = CheckResult("clip_logits")
    golden = section(load_goldens(WEEK), "logits")
    images, texts = _features()
    out, error = run_student("runs on Tensors", fn, Tensor(images), Tensor(texts), _scale_tensor())
    if error:
        result.add(error)
        return result
    shape = check_shape("shape (N images, M texts)", out, (3, 4))
    if not shape.passed and tuple(getattr(out, "shape", ())) == (4, 3):
        shape.message += ": rows must be images and columns texts (image_features @ text_features.T)"
    if not result.add(shape).passed:
        return result
    values = check_close("values: exp(logit_scale) * cosine similarity", out, golden["expected"], rtol=1e-4, atol=1e-5)
    if not values.passed:
        hint = _diagnose_logits(asnumpy(out.numpy() if isinstance(out, Tensor) else out).astype(np.float64), golden["expected"])
        if hint:
            values.message = f"likely cause: {hint}. " + values.message
    if not result.add(values).passed:
        return result
    rescaled, error = run_student("runs on rescaled features", fn, Tensor(images * 4.0), Tensor(texts * 0.25), _scale_tensor())
    if error:
        result.add(error)
        return result
    result.add(check_close("longer or shorter embeddings give the same logits (normalised)", rescaled, golden["expected"],
                           rtol=1e-4, atol=1e-5))

    a = Tensor(images.astype(np.float64), requires_grad=True, dtype=np.float64)
    b = Tensor(texts.astype(np.float64), requires_grad=True, dtype=np.float64)
    s = Tensor(np.array(LOGIT_SCALE), requires_grad=True, dtype=np.float64)
    out, error = run_student("runs in float64 with gradients", fn, a, b, s)
    if error:
        result.add(error)
        return result
    if not isinstance(out, Tensor) or not out.requires_grad:
        result.add(CheckItem("gradients reach the features and logit_scale", False,
                             "the result is not a Tensor that requires grad: build it from Tensor operations "
                             "(logit_scale.exp(), .sum(), .sqrt(), @), not from NumPy, so that training can reach the encoders "
                             "and the temperature"))
        return result
    try:
        out.backward(waves((3, 4), 0.8, np.float64))
    except Exception as exc:  # noqa: BLE001 - a student's graph may break in many ways
        result.add(CheckItem("gradients reach the features and logit_scale", False, f"backward raised {type(exc).__name__}: {exc}"))
        return result
    for name, leaf, key in (("image_features", a, "grad_images"), ("text_features", b, "grad_texts"), ("logit_scale", s, "grad_scale")):
        if leaf.grad is None:
            result.add(CheckItem(f"gradient reaches {name}", False,
                                 f"no gradient reached {name}: it was used outside the Tensor graph"
                                 + (" (np.exp(logit_scale)? use logit_scale.exp(), so the temperature is learned)" if name == "logit_scale" else "")))
            return result
        result.add(check_close(f"gradient with respect to {name}", np.asarray(asnumpy(leaf.grad)).reshape(golden[key].shape),
                               golden[key], rtol=1e-6, atol=1e-9))
    return result


# ---------------------------------------------------------------------- Exercise 2 case


def _loss_logits():
    """(5, 5) logits, deliberately not symmetric."""
    return waves((5, 5), 0.7) * 3.0


def loss_goldens(clip_loss) -> dict:
    x = Tensor(_loss_logits().astype(np.float64), requires_grad=True, dtype=np.float64)
    loss = clip_loss(x)
    loss.backward()
    return {"loss/expected": np.asarray(asnumpy(loss.numpy()), dtype=np.float64).reshape(()), "loss/gradient": asnumpy(x.grad)}


def _scalar(value) -> float | None:
    try:
        arr = np.asarray(asnumpy(value.numpy() if isinstance(value, Tensor) else value), dtype=np.float64)
    except (TypeError, ValueError):
        return None
    return float(arr.reshape(-1)[0]) if arr.size == 1 else None


def _diagnose_loss(fn) -> str:
    """Probe ``fn`` with logits whose right answer is known without a reference."""
    logits = _loss_logits().astype(np.float64)
    forward, _ = run_student("", fn, Tensor(logits, dtype=np.float64))
    backward, _ = run_student("", fn, Tensor(np.ascontiguousarray(logits.T), dtype=np.float64))
    forward, backward = _scalar(forward), _scalar(backward)
    if forward is not None and backward is not None and not math.isclose(forward, backward, rel_tol=1e-6, abs_tol=1e-9):
        return ("the loss is computed in one direction only: swapping the roles of images and texts (logits.T) changes it. "
                "Average the image-to-text cross-entropy (over rows) and the text-to-image one (over columns)")
    matched, _ = run_student("", fn, Tensor(20.0 * np.eye(5), dtype=np.float64))
    matched = _scalar(matched)
    if matched is not None and matched > 0.1:
        return ("the targets are not on the diagonal: with logits where every image already picks its own text (a large "
                f"diagonal), the loss should be about 0, got {matched:.3g}. Pair i is image i with text i, so the targets "
                "are np.arange(N)")
    uniform, _ = run_student("", fn, Tensor(np.zeros((5, 5)), dtype=np.float64))
    uniform = _scalar(uniform)
    if uniform is not None:
        ratio = uniform / math.log(5)
        for factor, hint in ((2, "the two directions are added; average them (divide the sum by 2)"),
                             (5, "the cross-entropies are summed over the batch; take the mean over the N pairs"),
                             (10, "the losses are summed over the batch and over the two directions; average both")):
            if math.isclose(ratio, factor, rel_tol=1e-6):
                return hint
    return ""


def test_clip_loss(fn) -> CheckResult:
    """Check ``fn(logits)``: a scalar, its value, and its gradient; mistakes named by probes."""
    result = CheckResult("clip_loss")
    golden = section(load_goldens(WEEK), "loss")
    logits = _loss_logits()
    out, error = run_student("runs on a (5, 5) Tensor", fn, Tensor(logits))
    if error:
        result.add(error)
        return result
    value = _scalar(out)
    if not result.add(CheckItem("returns one number", value is not None,
                                "" if value is not None else f"expected a 0-d Tensor (the batch's mean loss), got "
                                f"{type(out).__name__} of shape {getattr(out, 'shape', None)}")).passed:
        return result
    item = check_close("value: the mean of both directions' cross-entropies", np.float64(value), golden["expected"].reshape(()), rtol=1e-4, atol=1e-5)
    if not item.passed:
        hint = _diagnose_loss(fn)
        if hint:
            item.message = f"likely cause: {hint}. " + item.message
    if not result.add(item).passed:
        return result
    x = Tensor(logits.astype(np.float64), requires_grad=True, dtype=np.float64)
    out, error = run_student("runs in float64 with gradients", fn, x)
    if error:
        result.add(error)
        return result
    if not isinstance(out, Tensor) or not out.requires_grad:
        result.add(CheckItem("gradient reaches the logits", False, "the loss is not a Tensor that requires grad: build it from "
                             "Tensor operations (cross_entropy, log_softmax), not NumPy, or nothing can train"))
        return result
    try:
        out.sum().backward()
    except Exception as exc:  # noqa: BLE001
        result.add(CheckItem("gradient reaches the logits", False, f"backward raised {type(exc).__name__}: {exc}"))
        return result
    if x.grad is None:
        result.add(CheckItem("gradient reaches the logits", False, "no gradient reached the logits: the loss was built outside the Tensor graph"))
        return result
    result.add(check_close("gradient with respect to the logits", x.grad, golden["gradient"], rtol=1e-6, atol=1e-9))
    return result


# ---------------------------------------------------------------------- Exercise 3 case
TEXT_CONFIG = dict(vocab_size=11, embed_dim=5, d_model=8, num_heads=2, num_layers=2, d_ff=12, max_len=10)
TOKENS = np.array([[3, 7, 1, 9, 2, 5],
                   [4, 10, 2, PAD, PAD, PAD],
                   [6, PAD, PAD, PAD, PAD, PAD]], dtype=np.int64)  # (3, 6): captions of 6, 3 and 1 words


def text_state(model: Module, dtype=np.float32) -> dict:
    """Deterministic weights for every entry of ``model``'s state dict (LayerNorm scales near 1);
    the position table (a buffer, not trained) keeps the model's own values."""
    state = {}
    for i, (name, value) in enumerate(model.state_dict().items()):
        value = asnumpy(value)
        if name.endswith("positional.pe"):
            state[name] = value.astype(dtype)
            continue
        shape = tuple(value.shape)
        values = waves(shape, 0.5 + 0.77 * i, np.float64) * (0.4 if len(shape) >= 2 else 0.1)
        if "norm" in name.split(".")[-2]:
            values = values + (1.0 if name.endswith("weight") else 0.0)
        state[name] = values.astype(dtype)
    return state


def text_output(model, tokens=TOKENS) -> np.ndarray:
    model.eval()
    with no_grad():
        return asnumpy(model(tokens).numpy())


def golden_cases(namespace) -> dict[str, np.ndarray]:
    """Run every case through the reference answers in ``namespace`` (for ``python -m grader goldens``)."""
    out = logits_goldens(namespace["clip_logits"])
    out.update(loss_goldens(namespace["clip_loss"]))
    model = namespace["TextEncoder"](**TEXT_CONFIG)
    state = text_state(model)
    model.load_state_dict(state)
    out.update(prefixed("text/state", state))
    out["text/output"] = text_output(model)
    model.load_state_dict(dict(state, **{"positional.pe": np.zeros_like(state["positional.pe"])}))
    out["text/variant/no_pos"] = text_output(model)
    return out


def _padded(tokens, extra: int = 3):
    return np.concatenate([tokens, np.full((tokens.shape[0], extra), PAD, dtype=tokens.dtype)], axis=1)


def _diagnose_text(model, state: dict, golden: dict, received: np.ndarray) -> str:
    hint = first_hint(model, received, golden["variant/no_pos"],
                      post_norm="the encoder layers are post-norm; build them with norm_first=True",
                      no_positions="the position codes were not added: pass the embedded tokens through self.positional")
    if hint:
        return hint
    try:
        longer = text_output(model, _padded(TOKENS))
        if np.allclose(longer, received, rtol=1e-4, atol=1e-5):
            return ""
        model.load_state_dict(layers_off(state))
        plain, plain_longer = text_output(model), text_output(model, _padded(TOKENS))
    except Exception:  # noqa: BLE001 - a diagnosis only
        return ""
    finally:
        model.load_state_dict(state)
    if not np.allclose(plain, plain_longer, rtol=1e-4, atol=1e-5):
        return ("the mean includes the padding: adding more PAD columns changes a caption's vector. Average over the real "
                "tokens only (weights keep / keep.sum(axis=1, keepdims=True), 0 on padding)")
    return ("padding leaks in through attention: adding more PAD columns changes a caption's vector. Pass "
            "src_key_padding_mask=tokens != PAD to every layer (True = a real token that may be attended, the course's convention)")


def _layout(model, result: CheckResult, cfg: dict) -> bool:
    D, V, E = cfg["d_model"], cfg["vocab_size"], cfg["embed_dim"]
    parts = (
        ("token_embedding", Embedding, f"Embedding({V}, {D}, padding_idx=PAD)"),
        ("positional", PositionalEncoding, f"PositionalEncoding({D}, max_len)"),
        ("layers", ModuleList, f"ModuleList of {cfg['num_layers']} TransformerEncoderLayer"),
        ("norm", LayerNorm, f"LayerNorm({D})"),
        ("proj", Linear, f"Linear({D}, {E})"),
    )
    for name, kind, what in parts:
        part = getattr(model, name, None)
        if not result.add(CheckItem(f"self.{name} is a {kind.__name__}", isinstance(part, kind),
                                    "" if isinstance(part, kind) else f"expected `self.{name} = {what}`, got {type(part).__name__}")).passed:
            return False
    checks = (
        ("token_embedding: one row of d_model per word id", tuple(model.token_embedding.weight.shape) == (V, D),
         f"expected Embedding({V}, {D}): weight ({V}, {D}), got {tuple(model.token_embedding.weight.shape)}"),
        ("token_embedding ignores PAD (padding_idx=PAD)", model.token_embedding.padding_idx == PAD,
         f"build it with padding_idx=PAD, got padding_idx={model.token_embedding.padding_idx!r}"),
        (f"layers: {cfg['num_layers']} of them", len(model.layers) == cfg["num_layers"],
         f"expected num_layers = {cfg['num_layers']} layers, got {len(model.layers)}"),
        ("proj maps d_model to embed_dim", tuple(model.proj.weight.shape) == (E, D),
         f"expected Linear({D}, {E}) (weight ({E}, {D})), got weight {tuple(model.proj.weight.shape)}"),
    )
    for name, ok, message in checks:
        if not result.add(CheckItem(name, ok, "" if ok else message)).passed:
            return False
    return True


def test_text_encoder(cls) -> CheckResult:
    """Check ``TextEncoder``: layout, output shape, values for given weights, padding, gradients."""
    result = CheckResult("TextEncoder")
    cfg = TEXT_CONFIG
    model, error = run_student("builds", cls, **cfg)
    if error:
        result.add(error)
        return result
    if not _layout(model, result, cfg):
        return result
    golden = section(load_goldens(WEEK), "text")
    state = section(golden, "state")
    got = list(model.state_dict())
    missing, extra = sorted(set(state) - set(got)), sorted(set(got) - set(state))
    mismatch = "; ".join(p for p in (f"missing {', '.join(missing[:4])}" if missing else "",
                                     f"unexpected {', '.join(extra[:4])}" if extra else "") if p)
    if not result.add(CheckItem("parameter names follow the layout in the docstring", not mismatch,
                                "" if not mismatch else f"{mismatch}: name the parts token_embedding, positional, layers, "
                                "norm and proj")).passed:
        return result
    try:
        model.load_state_dict(state)
    except Exception as exc:  # noqa: BLE001
        result.add(CheckItem("loads weights by name", False, f"load_state_dict raised {type(exc).__name__}: {exc} "
                             "(a part of another size than the docstring says?)"))
        return result
    out, error = run_student("forward on (3, 6) word ids with padding", text_output, model)
    if error:
        result.add(error)
        return result
    if not result.add(check_shape("output shape (N, embed_dim)", out, (3, cfg["embed_dim"]))).passed:
        return result
    values = check_close("values match the reference for the same weights", out, golden["output"], rtol=1e-4, atol=1e-5)
    if not values.passed:
        hint = _diagnose_text(model, state, golden, np.asarray(out, dtype=np.float64))
        if hint:
            values.message = f"likely cause: {hint}. " + values.message
    if not result.add(values).passed:
        return result
    longer, error = run_student("forward with 3 more PAD columns", text_output, model, _padded(TOKENS))
    if error:
        result.add(error)
        return result
    result.add(check_close("more padding leaves every caption's vector unchanged", longer, golden["output"], rtol=1e-4, atol=1e-5))
    model.train()
    out, error = run_student("forward in training mode", model, TOKENS)
    if error:
        result.add(error)
        return result
    result.add(check_gradients_reach_parameters(model, out))
    return result


__all__ = ["LOGIT_SCALE", "PAD", "TEXT_CONFIG", "TOKENS", "golden_cases", "test_clip_logits", "test_clip_loss",
           "test_text_encoder", "text_state", "waves"]
