"""Visible checks for week 5 (the Transformer). Each runs in about a second.

Weights are never left to the student's random initialisation: each check loads fixed
weights into the student's module by name (``load_state_dict``), runs fixed inputs, and
compares with goldens: the outputs the instructor's reference answer gave on the same
weights and inputs, stored as data in ``goldens/week5_transformer.npz`` (made by
``golden_cases`` below, through ``python -m grader goldens``). Sizes differ per axis (batch 2, S=5 source and T=4 target
positions, d_model=8, 2 heads, d_ff=12) so a swapped axis fails loudly. Common mistakes
are named: sin and cos swapped, a forgotten residual, pre-norm instead of post-norm,
a missing causal mask, a mask ignored or inverted.

Mask convention (the whole course): boolean, True = may attend. ``src_mask`` is (N, S),
True = a real source token; ``tgt_mask`` is (T, T), True = query t may attend to key s.
"""
from __future__ import annotations

import numpy as np

from ..backend import asnumpy
from ..losses import cross_entropy
from ..nn import Module
from ..tensor import Tensor, no_grad
from .delegation import forbids
from .result import CheckItem, CheckResult, check_close, check_shape, check_true, run_student
from .stored import load_goldens, prefixed, section

WEEK = "week5_transformer"

NAMES = {
    "FeedForward": "linear1 (d_model -> d_ff), linear2 (d_ff -> d_model)",
    "EncoderLayer": "self_attn, feed_forward, norm1, norm2",
    "DecoderLayer": "self_attn, cross_attn, feed_forward, norm1, norm2, norm3",
    "Transformer": "src_embed, tgt_embed, encoder_layers, decoder_layers, out_proj and the buffer pe",
}
FF_KWARGS = {"d_model": 6, "d_ff": 10}
LAYER_KWARGS = {"d_model": 8, "num_heads": 2, "d_ff": 12}
TRANSFORMER_SEED = 6  # decodes [[5, 3, 6, 6, 6, 6], [0, 1, 4, 4, 4, 4]]: varied, and the source mask matters
TRANSFORMER_KWARGS = dict(src_vocab=11, tgt_vocab=7, d_model=8, num_heads=2, num_layers=2, d_ff=12, max_len=16)
GREEDY = dict(start_token=1, end_token=2, max_len=6)
ENDING_TOKEN = 3  # with the fixed weights, row 0 decodes 5, 3, ... and row 1 never decodes 3


# ---------------------------------------------------------------------- deterministic values
def waves(shape, phase: float = 0.0, dtype=np.float32) -> np.ndarray:
    """Deterministic, non-degenerate values of ``shape`` (no RNG)."""
    n = int(np.prod(shape))
    return (np.sin(np.arange(n) * 0.7 + phase) + 0.3 * np.cos(np.arange(n) * 0.23)).reshape(shape).astype(dtype)


def padding_mask(lengths, S: int) -> np.ndarray:
    """(N, S) boolean, True = a real token: sequence n has ``lengths[n]`` real tokens, then padding."""
    return np.arange(S)[None, :] < np.asarray(lengths)[:, None]


def causal_mask(T: int) -> np.ndarray:
    """(T, T) boolean lower triangle, True = may attend: position t sees positions 0..t."""
    return np.tril(np.ones((T, T), dtype=bool))


def fill_parameters(module: Module, phase: float = 0.0) -> Module:
    """Give every parameter deterministic values (LayerNorm gains near 1), in place."""
    for i, (name, p) in enumerate(module.named_parameters()):
        values = 0.5 * waves(p.shape, phase + 0.37 * i, np.float64)
        if name.split(".")[-2].startswith("norm") and name.endswith("weight"):
            values = 1.0 + 0.3 * values
        p.data = p.xp.asarray(values, dtype=p.dtype)
    return module


def random_parameters(module: Module, seed: int) -> Module:
    """Fixed-seed weights, in place, that make greedy decoding depend on the input: normal
    matrices scaled by 1/sqrt(fan_in), normal embeddings, zero biases, LayerNorm gains near 1.
    (Unscaled weights saturate every softmax, and the decoded tokens then repeat one value.)"""
    rng = np.random.default_rng(seed)
    for name, p in module.named_parameters():
        if name.endswith("bias"):
            values = np.zeros(p.shape)
        elif name.split(".")[-2].startswith("norm"):
            values = 1.0 + 0.2 * rng.standard_normal(p.shape)
        elif "embed" in name:
            values = rng.standard_normal(p.shape)
        else:
            values = rng.standard_normal(p.shape) / np.sqrt(p.shape[-1])
        p.data = p.xp.asarray(values, dtype=p.dtype)
    return module


# ---------------------------------------------------------------------- the cases (shared by goldens and checks)
class _Stop(Exception):
    """A student call failed: carries the CheckItem that says how."""

    def __init__(self, item):
        super().__init__(item.message)
        self.item = item


def _direct(label, fn, *args):
    return fn(*args)


def _student(label, fn, *args):
    value, error = run_student(label, fn, *args)
    if error:
        raise _Stop(error)
    return value


def _ff_input():
    return Tensor(waves((2, 3, 6), 0.4))


def _encoder_inputs():
    x = Tensor(waves((2, 5, 8), 0.2))
    return x, padding_mask([5, 3], 5)


def _decoder_inputs():
    x = Tensor(waves((2, 4, 8), 0.9))
    memory = Tensor(waves((2, 5, 8), 1.7))
    return x, memory, padding_mask([5, 3], 5), causal_mask(4)


def transformer_inputs():
    """src (2, 5) with the second sequence padded after 3 tokens, tgt_in (2, 4), masks."""
    src = np.array([[3, 4, 5, 6, 7], [8, 9, 10, 0, 0]])
    tgt_in = np.array([[1, 3, 4, 5], [1, 6, 2, 0]])
    return src, tgt_in, src != 0, causal_mask(4)


def _loss_inputs():
    logits = Tensor(waves((2, 4, 6), 0.3) * 2, requires_grad=True)
    return logits, np.array([[3, 1, 4, 0], [5, 2, 0, 0]]), 0


def feed_forward_outputs(module, call=_direct):
    return {"out": asnumpy(call("forward", module, _ff_input()))}


def encoder_outputs(module, call=_direct):
    x, mask = _encoder_inputs()
    return {"no_mask": asnumpy(call("forward (no mask)", module, x, None)),
            "padding_mask": asnumpy(call("forward (padding mask)", module, x, mask))}


def decoder_outputs(module, call=_direct):
    x, memory, src_mask, tgt_mask = _decoder_inputs()
    return {"out": asnumpy(call("forward", module, x, memory, src_mask, tgt_mask))}


def transformer_logits(model, call=_direct):
    src, tgt_in, src_mask, tgt_mask = transformer_inputs()
    return {"logits": asnumpy(call("forward", model, src, tgt_in, src_mask, tgt_mask))}


def transformer_greedy(model, call=_direct):
    src, _, src_mask, _ = transformer_inputs()
    tokens = call("greedy_decode", model.greedy_decode, src, GREEDY["start_token"], GREEDY["end_token"], GREEDY["max_len"], src_mask)
    return {"greedy": np.asarray(asnumpy(tokens))}


def transformer_greedy_ends(model, call=_direct):
    """Decoding with ``ENDING_TOKEN`` as the end token: ``greedy_end`` for the whole batch (row 0
    produces it at step 2, row 1 never: row 0 must go on with end tokens), ``greedy_end_alone`` for
    row 0 alone (every row has finished after 2 steps: decoding must stop there)."""
    src, _, src_mask, _ = transformer_inputs()
    start, max_len = GREEDY["start_token"], GREEDY["max_len"]
    both = call("greedy_decode (a row that ends early)", model.greedy_decode, src, start, ENDING_TOKEN, max_len, src_mask)
    alone = call("greedy_decode (every row ends early)", model.greedy_decode, src[:1], start, ENDING_TOKEN, max_len, src_mask[:1])
    return {"greedy_end": np.asarray(asnumpy(both)), "greedy_end_alone": np.asarray(asnumpy(alone))}


def _state_of(module) -> dict:
    return {name: np.asarray(asnumpy(value)) for name, value in module.state_dict().items()}


def _fixed(cls, kwargs, phase=0.0, seed=None):
    """``cls(**kwargs)`` with deterministic weights, in evaluation mode (golden side)."""
    module = cls(**kwargs)
    fill_parameters(module, phase) if seed is None else random_parameters(module, seed)
    module.eval()
    return module


PE_SIZES = ((12, 10), (6, 7))  # (max_len, d_model) of the positional-encoding check


def golden_cases(namespace) -> dict[str, np.ndarray]:
    """Run every case through the implementations in ``namespace`` (the reference answers, for
    ``python -m grader goldens``): ``{"<exercise>/<output>": array, "<exercise>/state/<name>": weight}``."""
    out = {}
    ff = _fixed(namespace["FeedForward"], FF_KWARGS)
    out.update(prefixed("feed_forward/state", _state_of(ff)))
    out.update(prefixed("feed_forward", feed_forward_outputs(ff)))

    enc = _fixed(namespace["EncoderLayer"], LAYER_KWARGS)
    x, mask = _encoder_inputs()
    out.update(prefixed("encoder_layer/state", _state_of(enc)))
    out.update(prefixed("encoder_layer", encoder_outputs(enc)))
    out["encoder_layer/variant/mask_inverted"] = asnumpy(enc(x, ~mask))

    dec = _fixed(namespace["DecoderLayer"], LAYER_KWARGS)
    x, memory, src_mask, tgt_mask = _decoder_inputs()
    out.update(prefixed("decoder_layer/state", _state_of(dec)))
    out.update(prefixed("decoder_layer", decoder_outputs(dec)))
    out["decoder_layer/variant/no_causal"] = asnumpy(dec(x, memory, src_mask, None))
    out["decoder_layer/variant/cross_mask_ignored"] = asnumpy(dec(x, memory, None, tgt_mask))

    model = _fixed(namespace["Transformer"], TRANSFORMER_KWARGS, seed=TRANSFORMER_SEED)
    out.update(prefixed("transformer/state", _state_of(model)))
    out.update(prefixed("transformer", transformer_logits(model)))
    out.update(prefixed("transformer", transformer_greedy(model)))
    ends = transformer_greedy_ends(model)
    if not (ends["greedy_end"].shape[1] == GREEDY["max_len"] and ends["greedy_end_alone"].shape[1] < GREEDY["max_len"]):
        raise ValueError(f"ENDING_TOKEN {ENDING_TOKEN} no longer ends row 0 early and row 1 never: pick another from "
                         f"{ends['greedy_end'].tolist()}")
    out.update(prefixed("transformer", ends))

    logits, target, pad = _loss_inputs()
    out["masked_loss/value"] = asnumpy(namespace["masked_cross_entropy"](logits, target, pad).data).reshape(-1)
    N, T, V = logits.shape  # a mistake to recognise: the plain mean over every position, padding included
    out["masked_loss/unmasked_mean"] = asnumpy(cross_entropy(logits.reshape(N * T, V), target.reshape(-1)).data).reshape(-1)
    for max_len, d_model in PE_SIZES:
        out[f"pe/{max_len}x{d_model}"] = np.asarray(namespace["positional_encoding"](max_len, d_model), dtype=np.float64)
    return out


# ---------------------------------------------------------------------- helpers
def _goldens(exercise):
    return section(load_goldens(WEEK), exercise)


def _build_student(result, cls, kwargs, state, what):
    """Instantiate ``cls(**kwargs)``, load the fixed weights ``state`` by name; the module or None."""
    module, error = run_student(f"{what}(...) builds", cls, **kwargs)
    if error:
        result.add(error)
        return None
    names = list(state)
    try:
        module.load_state_dict(dict(state))
    except (KeyError, ValueError, AttributeError, TypeError) as exc:
        got = [k for k, _ in module.named_parameters()] if hasattr(module, "named_parameters") else []
        result.add(CheckItem("submodule names and shapes", False,
                             f"the check loads fixed weights by name, and that failed ({exc}). Name the submodules "
                             f"{NAMES[what]} as the docstring says and build them with the sizes it gives "
                             f"(expected parameters like {names[:4]}..., found {got[:4]}...)"))
        return None
    result.add(CheckItem("submodule names and shapes", True))
    module.eval()
    return module


def _compare(result, label, out, ref_out, diagnose=None, rtol=1e-4, atol=1e-5):
    shape = check_shape(f"output shape ({label})", out, ref_out.shape)
    result.add(shape)
    if not shape.passed:
        return False
    item = check_close(f"output matches ({label})", out, ref_out, rtol=rtol, atol=atol)
    if not item.passed and diagnose is not None:
        hint = diagnose()
        if hint:
            item.message = f"likely cause: {hint}. " + item.message
    result.add(item)
    return item.passed


def _matches(variant_out, out, atol=1e-4):
    variant_out = np.asarray(variant_out)
    return variant_out.shape == out.shape and np.allclose(variant_out, out, atol=atol, rtol=1e-4)


def _branches_off(state, branches):
    """``state`` with the output projection of every sub-block in ``branches`` set to zero: a
    correct post-norm layer then only normalises its input, x -> norm(... norm(x))."""
    return {name: np.zeros_like(value) if name.rsplit(".", 1)[0] in branches else value for name, value in state.items()}


def _residual_probe(module, state, branches, run):
    """Name a missing residual or a pre-norm layer from the output with every sub-block switched off.

    Without a residual the input never reaches the output, which is then the same at every
    position; a pre-norm layer passes its input through unchanged.
    """
    try:
        module.load_state_dict(_branches_off(state, branches))
        x, out = run()
    except Exception:  # noqa: BLE001 - a diagnosis only, never an error of its own
        return ""
    finally:
        try:
            module.load_state_dict(dict(state))
        except Exception:  # noqa: BLE001
            pass
    if np.allclose(out, out.reshape(-1, out.shape[-1])[:1].reshape((1,) * (out.ndim - 1) + (-1,)), atol=1e-5):
        return "a residual connection is missing: each sub-block's output is added to its input, then normalised"
    if np.allclose(out, x, atol=1e-5):
        return "this is pre-norm (x + f(norm(x))); the exercise asks for post-norm: norm(x + f(x))"
    return ""


# ---------------------------------------------------------------------- Exercise 1
@forbids("week5_transformer", "pe")
def test_positional_encoding(fn) -> CheckResult:
    """Check ``fn(max_len, d_model) -> (max_len, d_model)`` against stored tables."""
    result = CheckResult("positional_encoding")
    for max_len, d_model in PE_SIZES:
        raw, error = run_student(f"runs ({max_len}, {d_model})", fn, max_len, d_model)
        if error:
            result.add(error)
            return result
        if raw is None:
            result.add(CheckItem("returns a table", False, "received None: is a `return` missing?"))
            return result
        if not isinstance(raw, np.ndarray):
            result.add(CheckItem("returns a NumPy array", False, f"got a {type(raw).__name__}: build the table with NumPy "
                                 "(np.zeros, np.sin, np.cos); the Transformer wraps it in a Tensor itself"))
            return result
        pe = asnumpy(raw).astype(np.float64)
        shape = check_shape(f"shape for max_len={max_len}, d_model={d_model}", pe, (max_len, d_model))
        result.add(shape)
        if not shape.passed:
            return result
        ref = _goldens("pe")[f"{max_len}x{d_model}"]
        item = check_close(f"values for max_len={max_len}, d_model={d_model}", pe, ref, rtol=1e-4, atol=1e-5)
        if not item.passed:
            hints = []
            odd = d_model // 2
            if np.allclose(pe[:, 1::2], ref[:, 0:2 * odd:2], atol=1e-4):
                hints.append("sin and cos are swapped: sin goes on the even dimensions (0, 2, 4, ...), cos on the odd ones")
            elif np.allclose(pe[:, 0], ref[:, 0], atol=1e-4) and not np.allclose(pe[:, 2], ref[:, 2], atol=1e-4):
                hints.append("the frequencies are wrong: dimensions 2i and 2i+1 share the angle pos / 10000**(2i / d_model)")
            elif not np.allclose(pe[0], ref[0], atol=1e-4):
                hints.append("row 0 (position 0) should be sin(0)=0 on even and cos(0)=1 on odd dimensions")
            if hints:
                item.message = "likely cause: " + "; ".join(hints) + ". " + item.message
        result.add(item)
        if not item.passed:
            return result
    return result


DROPOUT_PROBES = {  # what: (switched-off Linear layers, inputs after the two identical tokens, what must drop)
    "FeedForward": ((), lambda: (), "apply Dropout(dropout) to the hidden layer, after the ReLU"),
    "EncoderLayer": (("feed_forward.linear2",), lambda: (None,),
                     "apply Dropout(dropout) to the self-attention's output before adding it to x"),
    "DecoderLayer": (("feed_forward.linear2",), lambda: (Tensor(waves((1, 3, 8), 2.4)), None, None),
                     "apply Dropout(dropout) to each attention sub-block's output before adding it to x"),
}


def twin_tokens(width: int) -> Tensor:
    """(1, 2, width): one token twice; without dropout both positions get the same output."""
    return Tensor(np.repeat(waves((1, 1, width), 0.8), 2, axis=1))


def _check_dropout(result: CheckResult, cls, kwargs: dict, state: dict, what: str) -> None:
    """``cls(**kwargs, dropout=0.5)`` with the fixed weights (the layers named in DROPOUT_PROBES
    switched off, so only the sub-block that must drop can make a difference): in training mode
    two identical tokens must get different outputs, in evaluation mode the same."""
    off, extra, advice = DROPOUT_PROBES[what]
    module, error = run_student(f"{what}(..., dropout=0.5) builds", cls, **kwargs, dropout=0.5)
    if error:
        result.add(error)
        return
    module.load_state_dict(_branches_off(state, off))
    x = twin_tokens(kwargs["d_model"])
    rows = {}
    for mode in ("train", "eval"):
        getattr(module, mode)()
        with no_grad():
            raw, error = run_student(f"forward with dropout=0.5 ({mode})", module, x, *extra())
        if error:
            result.add(error)
            return
        rows[mode] = asnumpy(raw.numpy() if isinstance(raw, Tensor) else raw)[0]  # (2, E)
    drops = not np.allclose(rows["train"][0], rows["train"][1], rtol=1e-3, atol=1e-5)
    result.add(CheckItem("dropout is used in training", drops, "" if drops else
                         f"with dropout=0.5 in training mode, two identical tokens got the same output: {advice}"))
    same = np.allclose(rows["eval"][0], rows["eval"][1], rtol=1e-5, atol=1e-6)
    result.add(CheckItem("no dropout in evaluation", same, "" if same else
                         "in evaluation mode two identical tokens got different outputs: use utils.nn.Dropout, which follows eval()"))


# ---------------------------------------------------------------------- Exercise 2
@forbids("week5_transformer", "feed_forward")
def test_feed_forward(FeedForward) -> CheckResult:
    """Check ``FeedForward(d_model=6, d_ff=10)`` on a (2, 3, 6) input."""
    result = CheckResult("FeedForward")
    golden = _goldens("feed_forward")
    state = section(golden, "state")
    module = _build_student(result, FeedForward, FF_KWARGS, state, "FeedForward")
    if module is None:
        return result
    try:
        out = feed_forward_outputs(module, _student)["out"]
    except _Stop as stop:
        result.add(stop.item)
        return result

    def diagnose():
        x = _ff_input().numpy()
        linear = (x @ state["linear1.weight"].T + state["linear1.bias"]) @ state["linear2.weight"].T + state["linear2.bias"]
        return "the ReLU between the two Linear layers is missing" if _matches(linear, out) else ""

    if _compare(result, "(2, 3, 6) input", out, golden["out"], diagnose):
        _check_dropout(result, FeedForward, FF_KWARGS, state, "FeedForward")
    return result


@forbids("week5_transformer", "encoder_layer")
def test_encoder_layer(EncoderLayer) -> CheckResult:
    """Check ``EncoderLayer(d_model=8, num_heads=2, d_ff=12)`` with and without a padding mask."""
    result = CheckResult("EncoderLayer")
    golden = _goldens("encoder_layer")
    state = section(golden, "state")
    module = _build_student(result, EncoderLayer, LAYER_KWARGS, state, "EncoderLayer")
    if module is None:
        return result
    try:
        outs = encoder_outputs(module, _student)
    except _Stop as stop:
        result.add(stop.item)
        return result
    x, _ = _encoder_inputs()

    def probe():
        return x.numpy(), asnumpy(module(x, None))

    for label, key in (("no mask", "no_mask"), ("padding mask", "padding_mask")):
        out = outs[key]

        def diagnose(key=key, out=out):
            if key == "padding_mask":
                if _matches(golden["no_mask"], out):
                    return "src_mask was ignored: pass it as key_padding_mask to self_attn"
                if _matches(golden["variant/mask_inverted"], out):
                    return "the mask is inverted: in this course True means 'a real token, may attend'"
            return _residual_probe(module, state, ("self_attn.out_proj", "feed_forward.linear2"), probe)

        if not _compare(result, label, out, golden[key], diagnose):
            return result
    _check_dropout(result, EncoderLayer, LAYER_KWARGS, state, "EncoderLayer")
    return result


# ---------------------------------------------------------------------- Exercise 3
@forbids("week5_transformer", "decoder_layer")
def test_decoder_layer(DecoderLayer) -> CheckResult:
    """Check ``DecoderLayer(d_model=8, num_heads=2, d_ff=12)`` with causal and padding masks."""
    result = CheckResult("DecoderLayer")
    golden = _goldens("decoder_layer")
    state = section(golden, "state")
    module = _build_student(result, DecoderLayer, LAYER_KWARGS, state, "DecoderLayer")
    if module is None:
        return result
    x, memory, src_mask, tgt_mask = _decoder_inputs()
    try:
        out = decoder_outputs(module, _student)["out"]
    except _Stop as stop:
        result.add(stop.item)
        return result

    def probe():
        return x.numpy(), asnumpy(module(x, memory, src_mask, tgt_mask))

    def diagnose():
        if _matches(golden["variant/no_causal"], out):
            return "tgt_mask was not used: pass it as attn_mask to the self-attention"
        if _matches(golden["variant/cross_mask_ignored"], out):
            return "src_mask was not used: pass it as key_padding_mask to the cross-attention"
        return _residual_probe(module, state, ("self_attn.out_proj", "cross_attn.out_proj", "feed_forward.linear2"), probe)

    if not _compare(result, "N=2, T=4, S=5", out, golden["out"], diagnose):
        return result
    # the future must not leak: changing the last target position leaves earlier outputs alone
    x2 = x.numpy().copy()
    x2[:, -1] += 3.0
    raw2, error = run_student("forward (changed last position)", module, Tensor(x2), memory, src_mask, tgt_mask)
    if error:
        result.add(error)
        return result
    same = np.allclose(asnumpy(raw2)[:, :-1], out[:, :-1], atol=1e-5)
    result.add(CheckItem("no peeking at later positions", same, "" if same else
                         "changing the last target token changed earlier outputs: the self-attention must use tgt_mask (causal)"))
    w = getattr(module, "cross_attn_weights", None)
    if w is None:
        result.add(CheckItem("cross_attn_weights kept", False,
                             "keep the cross-attention weights of the last call in self.cross_attn_weights (for the plots)"))
    else:
        result.add(check_shape("cross_attn_weights shape (N, T, S)", asnumpy(w), (2, 4, 5)))
    _check_dropout(result, DecoderLayer, LAYER_KWARGS, state, "DecoderLayer")
    return result


# ---------------------------------------------------------------------- Exercise 4
@forbids("week5_transformer", "transformer")
def test_transformer(Transformer) -> CheckResult:
    """Check ``Transformer(...).forward`` and ``greedy_decode`` against the reference's outputs for the same weights."""
    result = CheckResult("Transformer")
    golden = _goldens("transformer")
    model = _build_student(result, Transformer, TRANSFORMER_KWARGS, section(golden, "state"), "Transformer")
    if model is None:
        return result
    try:
        logits = transformer_logits(model, _student)["logits"]
        if not _compare(result, "logits (N, T, tgt_vocab)", logits, golden["logits"]):
            return result
        got = transformer_greedy(model, _student)["greedy"]
    except _Stop as stop:
        result.add(stop.item)
        return result
    want = golden["greedy"]
    N, end, max_len = want.shape[0], GREEDY["end_token"], GREEDY["max_len"]
    ok_shape = got.ndim == 2 and got.shape[0] == N and got.shape[1] <= max_len
    result.add(CheckItem("greedy_decode returns (N, L) with L <= max_len", ok_shape, "" if ok_shape else
                         f"expected a ({N}, L) integer array with L <= {max_len} (the start token left out), got shape {got.shape}"))
    if not ok_shape:
        return result
    ok = True
    for n in range(N):
        stop = list(want[n]).index(end) + 1 if end in want[n] else want.shape[1]
        ok &= got.shape[1] >= stop and np.array_equal(got[n, :stop], want[n, :stop])
    result.add(CheckItem("greedy_decode picks the most likely token at each step", bool(ok), "" if ok else
                         "the decoded tokens differ from a greedy reference: feed the tokens decoded so far (start token first) "
                         "with a causal tgt_mask, take the argmax of the LAST position, append it, and stop after end_token",
                         expected=want, received=got))
    if not ok:
        return result
    result.add(check_true("greedy_decode returns integer tokens", got.dtype.kind in "iu",
                          f"the tokens have dtype {got.dtype}: keep them as integers (np.int64), they are vocabulary ids"))
    try:
        ends = transformer_greedy_ends(model, _student)
    except _Stop as stop:
        result.add(stop.item)
        return result
    got, want = ends["greedy_end"], golden["greedy_end"]
    same = got.shape == want.shape and np.array_equal(got, want)
    result.add(CheckItem("after end_token, a finished row keeps end_token", same, "" if same else
                         f"with end_token={ENDING_TOKEN}, row 0 produces it at step 2 and row 1 never does: row 0 must go on "
                         f"with {ENDING_TOKEN} in every later slot (np.where(finished, end_token, next_token))",
                         expected=want, received=got))
    got, want = ends["greedy_end_alone"], golden["greedy_end_alone"]
    stops = got.shape == want.shape and np.array_equal(got, want)
    result.add(CheckItem("stops once every row has produced end_token", stops, "" if stops else
                         f"decoding row 0 alone with end_token={ENDING_TOKEN}, every row has finished after {want.shape[1]} steps, "
                         f"so the result is {want.shape}; got shape {got.shape}: break out of the loop when all rows are finished",
                         expected=want, received=got))
    return result


# ---------------------------------------------------------------------- Exercise 5
def test_masked_cross_entropy(fn) -> CheckResult:
    """Check ``fn(logits (N, T, V), target (N, T), pad_token) -> scalar`` on a padded batch."""
    result = CheckResult("masked_cross_entropy")
    logits, target, pad = _loss_inputs()
    raw, error = run_student("runs", fn, logits, target, pad)
    if error:
        result.add(error)
        return result
    if not isinstance(raw, Tensor):
        result.add(CheckItem("returns a Tensor", False, f"return a scalar Tensor (so that .backward() works), got {type(raw).__name__}"))
        return result
    got = asnumpy(raw.data).reshape(-1)
    want = _goldens("masked_loss")["value"]
    item = check_close("value", got, want, rtol=1e-4, atol=1e-5)
    if not item.passed:
        N, T, V = logits.shape
        plain = _goldens("masked_loss")["unmasked_mean"]
        real = float((target != pad).sum())
        if np.allclose(got, plain, atol=1e-4):
            item.message = "likely cause: padding positions were counted; average only where target != pad_token. " + item.message
        elif np.allclose(got, want * real / (N * T), atol=1e-4):
            item.message = "likely cause: padding was zeroed but the mean still divides by every position. " + item.message
    result.add(item)
    if not raw.requires_grad:
        result.add(CheckItem("gradient reaches the logits", False, "the loss does not require grad, so backward cannot reach "
                             "the logits: build it from Tensor operations (no .numpy() round trip)"))
        return result
    _, error = run_student("backward", raw.backward)
    if error:
        result.add(error)
        return result
    flows = logits.grad is not None and bool(np.abs(asnumpy(logits.grad)).sum() > 0)
    result.add(CheckItem("gradient reaches the logits", flows, "" if flows else
                         "no gradient reached the logits: build the loss from Tensor operations (no .numpy() round trip)"))
    return result


__all__ = ["test_positional_encoding", "test_feed_forward", "test_encoder_layer", "test_decoder_layer", "test_transformer",
           "test_masked_cross_entropy", "padding_mask", "causal_mask", "golden_cases"]
