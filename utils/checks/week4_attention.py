"""Visible checks for week 4 (attention). Each runs in about a second.

Inputs are built deterministically with distinct sizes (batch 2, L=3 queries, S=5 keys,
d_k=4, d_v=6) so a swapped axis fails loudly, and common mistakes are named: a missing
1/sqrt(d_k), softmax over the wrong axis, an ignored or inverted mask, a mask with the
triangle on the wrong side, heads split by a bare reshape or in the wrong reshape order,
weights averaged over heads, (weights, output) returned swapped, a mask not passed on inside
MultiHeadAttention, a lookup query that lost its length-1 axis. Results built outside the
Tensor graph fail a gradient check, and a layer whose earlier exercise fails its own check
says so first ("Exercise 1 (...) fails its check; fix it first").

One check per exercise: ``test_transformer_attention`` (1), ``test_masks`` (2),
``test_split_merge_heads`` and ``test_multi_head_attention`` (3), ``test_cross_attention``
(4), ``test_position_lookup`` (5).
"""
from __future__ import annotations

import numpy as np

from ..backend import asnumpy
from ..tensor import Tensor
from .delegation import forbids
from .stored import load_goldens, section
from .result import CheckItem, CheckResult, check_close, check_gradients_reach_inputs, check_shape, earlier_exercise_failing, run_student

TITLE = "scaled_dot_product_attention"


def attention_inputs(batch=2, L=3, S=5, d_k=4, d_v=6, dtype=np.float32):
    """Deterministic ``(Q, K, V)`` Tensors of shapes (batch, L, d_k), (batch, S, d_k), (batch, S, d_v)."""
    def wave(shape, phase):
        n = int(np.prod(shape))
        return Tensor(np.sin(np.arange(n) * 0.7 + phase).reshape(shape) * 1.5, dtype=dtype)

    return wave((batch, L, d_k), 0.0), wave((batch, S, d_k), 1.0), wave((batch, S, d_v), 2.0)


def example_mask(L=3, S=5):
    """(L, S) boolean, True = may attend: query i sees keys 0..i+1 (a causal-like pattern)."""
    return np.arange(S)[None, :] <= np.arange(L)[:, None] + 1


def _unpack(result):
    if not isinstance(result, (tuple, list)) or len(result) != 2:
        return None, None, CheckItem("returns (output, weights)", False,
                                     f"expected a tuple (output, weights), got {type(result).__name__}")
    return asnumpy(result[0]), asnumpy(result[1]), None


WEEK = "week4_attention"
SDPA_CASES = {"nomask": None, "mask": "example"}


def _sdpa_mask(case):
    return example_mask() if SDPA_CASES[case] == "example" else None


def _sdpa_goldens(fn) -> dict:
    """The attention cases through ``fn`` (a reference answer): the right outputs and weights, and the
    weights two typical mistakes give (scores not scaled, scaled by 1/d_k), made by rescaling Q."""
    Q, K, V = attention_inputs()
    d_k = Q.shape[-1]
    out = {}
    for case in SDPA_CASES:
        m = _sdpa_mask(case)
        o, w = fn(Q, K, V, m)
        out[f"sdpa/{case}/out"], out[f"sdpa/{case}/weights"] = asnumpy(o), asnumpy(w)
        out[f"sdpa/{case}/unscaled"] = asnumpy(fn(Q * float(np.sqrt(d_k)), K, V, m)[1])
        out[f"sdpa/{case}/over_d_k"] = asnumpy(fn(Q * float(1 / np.sqrt(d_k)), K, V, m)[1])
    return out


def _diagnose(case, w) -> str:
    """Name the likely mistake when the weights ``w`` do not match the stored ones."""
    golden = section(load_goldens(WEEK), f"sdpa/{case}")
    mask = _sdpa_mask(case)
    hints = []
    if np.allclose(w, golden["unscaled"], atol=1e-4):
        hints.append("the scores were not divided by sqrt(d_k)")
    elif np.allclose(w, golden["over_d_k"], atol=1e-4):
        hints.append("the scores were divided by d_k instead of sqrt(d_k)")
    if np.allclose(w.sum(axis=-2), 1.0, atol=1e-4) and not np.allclose(w.sum(axis=-1), 1.0, atol=1e-4):
        hints.append("softmax ran over the query axis (-2) instead of the key axis (-1)")
    if mask is not None:
        if np.allclose(w, load_goldens(WEEK)["sdpa/nomask/weights"], atol=1e-4):
            hints.append("the mask was ignored")
        elif np.all(w[..., mask] < 1e-6) and np.any(w[..., ~mask] > 1e-6):
            hints.append("the mask is inverted: in this course True means 'may attend'")
    return "; ".join(hints)


def _check_mask_kinds(result: CheckResult, fn, Q, K, V) -> None:
    """The exercise's mask may arrive as a NumPy array, a nested list or a boolean Tensor: all
    three must give the stored weights."""
    mask = _sdpa_mask("mask")
    want = load_goldens(WEEK)["sdpa/mask/weights"]
    for kind, given in (("a list", mask.tolist()), ("a Tensor", Tensor(mask))):
        raw, error = run_student(f"runs with the mask given as {kind}", fn, Q, K, V, given)
        out, w, error = (None, None, error) if error else _unpack(raw)
        ok = error is None and w.shape == want.shape and np.allclose(w, want, rtol=1e-4, atol=1e-5)
        result.add(CheckItem(f"accepts the mask as {kind}", ok, "" if ok else
                             (f"{error.message}; " if error else "the weights differ from those for the same mask as an array; ")
                             + "turn any mask into a boolean array first: np.asarray(mask.numpy() if isinstance(mask, Tensor) "
                             "else mask, dtype=bool)"))


@forbids("week4_attention", "sdpa")
def test_transformer_attention(fn) -> CheckResult:
    """Check ``fn(Q, K, V, mask=None) -> (output, weights)`` against stored expected outputs."""
    result = CheckResult(TITLE)
    Q, K, V = attention_inputs()

    for label, case in (("no mask", "nomask"), ("with a mask", "mask")):
        m = _sdpa_mask(case)
        raw, error = run_student(f"runs ({label})", fn, Q, K, V, m) if m is not None else run_student(f"runs ({label})", fn, Q, K, V)
        if error:
            result.add(error)
            return result
        out, w, error = _unpack(raw)
        if error:
            result.add(error)
            return result
        shape_items = [check_shape(f"output shape ({label})", out, (2, 3, 6)), check_shape(f"weights shape ({label})", w, (2, 3, 5))]
        if out.shape == (2, 3, 5) and w.shape == (2, 3, 6):
            for item in shape_items:
                item.message = "the two results come back swapped: return (output, weights), output first. " + item.message
        for item in shape_items:
            result.add(item)
        if not all(item.passed for item in shape_items):
            return result
        golden = section(load_goldens(WEEK), f"sdpa/{case}")
        ref_out, ref_w = golden["out"], golden["weights"]
        rows = check_close(f"weight rows sum to 1 ({label})", w.sum(axis=-1), np.ones((2, 3)), rtol=1e-4, atol=1e-4)
        if not rows.passed:
            rows.message = "each query's weights over the keys must sum to 1. " + rows.message
        result.add(rows)
        weights = check_close(f"weights match ({label})", w, ref_w, rtol=1e-4, atol=1e-5)
        output = check_close(f"output matches ({label})", out, ref_out, rtol=1e-4, atol=1e-5)
        hint = _diagnose(case, w) if not weights.passed else ""
        if hint:
            weights.message = f"likely cause: {hint}. " + weights.message
        result.add(weights)
        result.add(output)
        if m is not None:
            leaked = float(np.abs(w[..., ~m]).max())
            result.add(CheckItem("masked keys get zero weight", leaked < 1e-6,
                                 "" if leaked < 1e-6 else f"a key the mask forbids got weight {leaked:.3g}; "
                                 "fill forbidden scores with a large negative number before the softmax"))

    _check_mask_kinds(result, fn, Q, K, V)
    result.add(check_gradients_reach_inputs(lambda q, k, v: fn(q, k, v, _sdpa_mask("mask")),
                                            {"Q": Q, "K": K, "V": V}, "gradients reach Q, K and V"))
    full = np.ones((3, 5), dtype=bool)
    full[1] = False
    raw, error = run_student("fully masked row", fn, Q, K, V, full)
    if error:
        result.add(error)
        return result
    out, w, error = _unpack(raw)
    if error:
        result.add(error)
        return result
    finite = bool(np.isfinite(out).all() and np.isfinite(w).all())
    result.add(CheckItem("a fully masked row gives no NaN", finite, "" if finite else
                         "a query that may attend to nothing produced NaN: -inf everywhere makes softmax divide 0 by 0; "
                         "use a large finite negative number (e.g. -1e9) or zero such rows"))
    return result




# ---------------------------------------------------------------------- shared helpers
def wave_array(shape, phase: float, dtype=np.float32) -> np.ndarray:
    """Deterministic, non-degenerate values of ``shape`` (no RNG)."""
    n = int(np.prod(shape))
    return (np.sin(np.arange(n) * 0.53 + phase) * 0.6 + np.cos(np.arange(n) * 0.19 + phase) * 0.3).reshape(shape).astype(dtype)


def deterministic_state(shapes: dict, dtype=np.float32) -> dict:
    """A state dict with the given ``{name: shape}``, filled by ``wave_array`` (one phase per name)."""
    return {name: wave_array(shape, 0.37 * i, dtype) for i, (name, shape) in enumerate(shapes.items())}


def mha_shapes(d_model: int, prefix: str = "") -> dict:
    """``{name: shape}`` of a MultiHeadAttention's parameters (q/k/v/out projections)."""
    shapes = {}
    for proj in ("q_proj", "k_proj", "v_proj", "out_proj"):
        shapes[f"{prefix}{proj}.weight"] = (d_model, d_model)
        shapes[f"{prefix}{proj}.bias"] = (d_model,)
    return shapes


def _as_bool_array(value, name):
    arr = asnumpy(value) if value is not None else None
    if arr is None:
        return None, CheckItem(name, False, "received None: is a `return` missing?")
    arr = np.asarray(arr)
    if arr.dtype != bool:
        return None, CheckItem(name, False, f"expected a boolean array (True = may attend), got dtype {arr.dtype}; "
                                              "a comparison such as `a < b` gives booleans directly")
    return arr, None


def _load(model, state, result) -> bool:
    try:
        model.load_state_dict(state)
        return True
    except Exception as exc:  # names or shapes differ from what the exercise asks for
        result.add(CheckItem("parameter names and shapes", False, f"could not load the check's weights: {exc}"))
        return False


# ---------------------------------------------------------------------- Exercise 2: masks
MASK_LENGTHS = np.array([3, 1, 5])


@forbids("week4_attention", "masks")
def test_masks(causal_mask, padding_mask) -> CheckResult:
    """Check ``causal_mask(seq_len) -> (T, T)`` and ``padding_mask(lengths, max_len) -> (N, max_len)``."""
    result = CheckResult("causal_mask and padding_mask")
    raw, error = run_student("causal_mask runs", causal_mask, 4)
    if error:
        result.add(error)
    else:
        m, error = _as_bool_array(raw, "causal_mask is boolean")
        if error:
            result.add(error)
        else:
            result.add(check_shape("causal_mask shape", m, (4, 4)))
            want = load_goldens(WEEK)["masks/causal"]
            ok = m.shape == want.shape and bool(np.array_equal(m, want))
            hint = ""
            if not ok and m.shape == want.shape:
                if np.array_equal(m, want.T):
                    hint = "the True entries are above the diagonal: query i may look at keys j <= i (lower triangle, `np.tril`)"
                elif np.array_equal(m, ~want):
                    hint = "the polarity is flipped: in this course True means 'may attend'"
                elif np.array_equal(m, want & ~np.eye(4, dtype=bool)):
                    hint = "the diagonal is False: a position may attend to itself"
                else:
                    hint = "row i must be True exactly for columns 0..i"
            result.add(CheckItem("causal_mask values", ok, hint))

    lengths = MASK_LENGTHS
    raw, error = run_student("padding_mask runs", padding_mask, lengths, 5)
    if error:
        result.add(error)
        return result
    m, error = _as_bool_array(raw, "padding_mask is boolean")
    if error:
        result.add(error)
        return result
    shape = check_shape("padding_mask shape", m, (3, 5))
    if not shape.passed and m.size == 15:
        shape.message += "; return the (N, max_len) mask and broadcast it with [:, None, None, :] where you use it"
    result.add(shape)
    if not shape.passed:
        return result
    want = load_goldens(WEEK)["masks/padding"]
    ok = bool(np.array_equal(m, want))
    hint = ""
    if not ok:
        if np.array_equal(m, ~want):
            hint = "the polarity is flipped: True must mark real tokens (they may be attended), False the padding"
        elif np.array_equal(m, want | np.roll(want, 1, axis=1)):  # each row's run one longer
            hint = "one position too many: a sequence of length n has real tokens at positions 0..n-1"
        else:
            hint = "row b must be True at positions 0..lengths[b]-1 and False after"
    result.add(CheckItem("padding_mask values", ok, hint))
    for kind, given, advice in (("a list", MASK_LENGTHS.tolist(), "np.asarray(lengths) turns a list into an array"),
                                ("a Tensor", Tensor(MASK_LENGTHS), "take lengths.numpy() first when lengths is a Tensor")):
        raw, error = run_student(f"padding_mask runs with lengths given as {kind}", padding_mask, given, 5)
        m = None if error else np.asarray(asnumpy(raw.numpy() if isinstance(raw, Tensor) else raw))
        same = m is not None and m.dtype == bool and m.shape == want.shape and bool(np.array_equal(m, want))
        result.add(CheckItem(f"padding_mask accepts lengths as {kind}", same, "" if same else
                             (f"{error.message}; " if error else f"lengths given as {kind} gave another mask than the same lengths as an array; ")
                             + advice))
    return result


# ---------------------------------------------------------------------- Exercise 3: heads
def _heads_input():
    return np.arange(2 * 3 * 12, dtype=np.float32).reshape(2, 3, 12)  # (N, T, D)


def test_split_merge_heads(split_heads, merge_heads) -> CheckResult:
    """Check ``split_heads(x, h)``: (N, T, D) -> (N, h, T, D/h) and ``merge_heads`` back."""
    result = CheckResult("split_heads and merge_heads")
    x = _heads_input()  # (N, T, D) with distinct entries
    want = load_goldens(WEEK)["heads/split"]  # (N, h, T, d)
    raw, error = run_student("split_heads runs", split_heads, Tensor(x), 4)
    if error:
        result.add(error)
        return result
    got = asnumpy(raw) if raw is not None else None
    shape = check_shape("split_heads shape", got if got is not None else raw, (2, 4, 3, 3))
    result.add(shape)
    if not shape.passed:
        return result
    values = check_close("split_heads values", got, want)
    if not values.passed and np.array_equal(got, x.reshape(2, 4, 3, 3)):
        values.message = ("a bare reshape to (N, h, T, d) mixes positions into heads: reshape to (N, T, h, d) first, "
                          "then swap axes 1 and 2 (`.transpose(1, 2)`)")
    elif not values.passed and np.array_equal(got, x.reshape(2, 3, 3, 4).transpose(0, 3, 1, 2)):
        values.message = ("the reshape order is wrong: (N, T, d, h) puts every head's features side by side; reshape to "
                          "(N, T, h, d) (heads first, then each head's d features), then swap axes 1 and 2")
    result.add(values)
    result.add(check_gradients_reach_inputs(lambda t: split_heads(t, 4), {"x": x}, "gradients flow back through split_heads"))
    raw, error = run_student("merge_heads runs", merge_heads, Tensor(want))
    if error:
        result.add(error)
        return result
    got = asnumpy(raw) if raw is not None else None
    shape = check_shape("merge_heads shape", got if got is not None else raw, (2, 3, 12))
    result.add(shape)
    if shape.passed:
        back = check_close("merge_heads undoes split_heads", got, x)
        if not back.passed and np.array_equal(got, want.reshape(2, 3, 12)):
            back.message = "swap axes 1 and 2 back (`.transpose(1, 2)`) before reshaping to (N, T, h * d)"
        result.add(back)
    return result


@forbids("week4_attention", "mha")
def test_multi_head_attention(cls) -> CheckResult:
    """Check ``cls(d_model, num_heads)`` with fixed weights against stored expected outputs."""
    result = CheckResult("MultiHeadAttention")
    E, h = 12, 3
    model, error = run_student("MultiHeadAttention(12, 3) builds", cls, E, h)
    if error:
        result.add(error)
        return result
    missing = [n for n in ("q_proj", "k_proj", "v_proj", "out_proj") if not hasattr(model, n)]
    result.add(CheckItem("has q_proj, k_proj, v_proj, out_proj", not missing,
                         "" if not missing else f"missing attribute(s) {missing}: name the four Linear layers like the library does"))
    if missing:
        return result
    state = deterministic_state(mha_shapes(E))
    if not _load(model, state, result):
        return result
    query, memory = _mha_inputs(E)
    for label, case, m in (("no mask", "nomask", None), ("with an (L, S) mask", "mask", example_mask(4, 5))):
        args = (Tensor(query), Tensor(memory), Tensor(memory)) + ((m,) if m is not None else ())
        raw, error = run_student(f"forward ({label})", model, *args)
        if error:
            result.add(error)
            return result
        out, w, error = _unpack(raw)
        if error:
            result.add(error)
            return result
        shape_o = check_shape(f"output shape ({label})", out, (2, 4, E))
        shape_w = check_shape(f"per-head weights shape ({label})", w, (2, h, 4, 5))
        if not shape_w.passed and w.shape == (2, 4, 5):
            shape_w.message = "return the per-head weights (N, h, L, S), not their average over heads"
        result.add(shape_o)
        result.add(shape_w)
        if not (shape_o.passed and shape_w.passed):
            return result
        golden = section(load_goldens(WEEK), f"mha/{case}")
        ref_out, ref_w = golden["out"], golden["weights"]
        weights = check_close(f"weights match ({label})", w, ref_w, rtol=1e-4, atol=1e-5)
        if not weights.passed and m is not None and np.allclose(w, load_goldens(WEEK)["mha/nomask/weights"], atol=1e-5):
            weights.message = ("the mask was not passed on: forward(query, key, value, mask) must hand mask to "
                               "scaled_dot_product_attention. " + weights.message)
        elif not weights.passed:
            weights.message = _prerequisites(cls, weights.message)
        result.add(weights)
        close = check_close(f"output matches ({label})", out, ref_out, rtol=1e-4, atol=1e-5)
        if not close.passed and np.allclose(w, ref_w, atol=1e-5):
            close.message = "the weights are right but the output is not: merge the heads, then apply out_proj. " + close.message
        result.add(close)
    return result


def _prerequisites(cls, message: str) -> str:
    """``message``, prefixed with "Exercise N fails its check; fix it first" when an answer ``cls``
    builds on (attention, heads, MultiHeadAttention) fails its own check."""
    earlier = (("Exercise 1 (scaled_dot_product_attention)", test_transformer_attention, ("scaled_dot_product_attention",)),
               ("Exercise 3a (split_heads and merge_heads)", test_split_merge_heads, ("split_heads", "merge_heads")),
               ("Exercise 3b (MultiHeadAttention)", test_multi_head_attention, ("MultiHeadAttention",)))
    return earlier_exercise_failing(cls, earlier, message)


# ---------------------------------------------------------------------- Exercise 4: cross-attention
@forbids("week4_attention", "cross")
def test_cross_attention(cls) -> CheckResult:
    """Check ``cls(d_model, num_heads)(decoder_states, encoder_states, encoder_lengths)``."""
    result = CheckResult("CrossAttention")
    E, h = 8, 2
    model, error = run_student("CrossAttention(8, 2) builds", cls, E, h)
    if error:
        result.add(error)
        return result
    state = deterministic_state(mha_shapes(E, "mha."))
    if not _load(model, state, result):
        return result
    dec, enc, lengths = _cross_inputs(E)
    raw, error = run_student("forward", model, Tensor(dec), Tensor(enc), lengths)
    if error:
        result.add(error)
        return result
    out, w, error = _unpack(raw)
    if error:
        result.add(error)
        return result
    shape_o, shape_w = check_shape("output shape", out, (2, 3, E)), check_shape("weights shape", w, (2, h, 3, 5))
    result.add(shape_o)
    result.add(shape_w)
    if not (shape_o.passed and shape_w.passed):
        return result
    leaked = float(np.abs(w[1, :, :, 2:]).max())
    result.add(CheckItem("padded encoder positions get zero weight", leaked < 1e-6, "" if leaked < 1e-6 else
                         f"a padded encoder position got weight {leaked:.3g}: build padding_mask(encoder_lengths, S) and "
                         "broadcast it to (N, 1, 1, S)"))
    golden = section(load_goldens(WEEK), "cross")
    for item in (check_close("weights match", w, golden["weights"], rtol=1e-4, atol=1e-5),
                 check_close("output matches", out, golden["out"], rtol=1e-4, atol=1e-5)):
        if not item.passed:
            item.message = _prerequisites(cls, item.message)
        result.add(item)
    return result


# ---------------------------------------------------------------------- Exercise 5: position lookup
def lookup_inputs(n=3, seq_len=5, vocab_size=6) -> np.ndarray:
    """(n, seq_len + 1) integers: tokens, then the position to read."""
    tokens = (np.arange(n * seq_len).reshape(n, seq_len) * 7 + 3) % vocab_size  # (n, T)
    where = (np.arange(n) * 3 + 1) % seq_len  # (n,)
    return np.concatenate([tokens, where[:, None]], axis=1)


def lookup_shapes(vocab_size, seq_len, d_model) -> dict:
    shapes = {"token_emb.weight": (vocab_size, d_model), "pos_emb.weight": (seq_len, d_model),
              "ask_emb.weight": (seq_len, d_model)}
    shapes.update(mha_shapes(d_model, "attn."))
    shapes.update({"head.weight": (vocab_size, d_model), "head.bias": (vocab_size,)})
    return shapes


@forbids("week4_attention", "lookup")
def test_position_lookup(cls) -> CheckResult:
    """Check ``cls(vocab_size, seq_len, d_model, num_heads)``'s forward with fixed weights against stored outputs."""
    result = CheckResult("PositionLookup")
    V, T, E, h = 6, 5, 8, 2
    model, error = run_student("PositionLookup(6, 5, 8, 2) builds", cls, V, T, E, h)
    if error:
        result.add(error)
        return result
    state = deterministic_state(lookup_shapes(V, T, E))
    if not _load(model, state, result):
        return result
    X = lookup_inputs(3, T, V)
    raw, error = run_student("forward", model, Tensor(X))
    if error:
        if "split_heads" in error.message or "unpack" in error.message:
            error.message = ("likely cause: the query lost its length-1 axis: ask_emb(X[:, -1:]) gives (N, 1, d_model), "
                             "X[:, -1] gives (N, d_model), which split_heads cannot read as (N, L, d_model). " + error.message)
        else:
            error.message = _prerequisites(cls, error.message)
        result.add(error)
        return result
    logits = asnumpy(raw) if raw is not None else None
    shape = check_shape("logits shape", logits if logits is not None else raw, (3, V))
    result.add(shape)
    if not shape.passed:
        return result
    golden = section(load_goldens(WEEK), "lookup")
    ref_logits, ref_w = golden["logits"], golden["weights"]
    w = getattr(model, "last_weights", None)
    w = asnumpy(w) if w is not None else None
    shape_w = check_shape("last_weights shape", w if w is not None else (), (3, h, 1, T))
    if w is None:
        shape_w.message = "store the attention weights (N, h, 1, T) in self.last_weights during forward"
    result.add(shape_w)
    if shape_w.passed:
        item = check_close("attention weights match", w, ref_w, rtol=1e-4, atol=1e-5)
        item.message = item.message if item.passed else _prerequisites(cls, item.message)
        result.add(item)
    close = check_close("logits match", logits, ref_logits, rtol=1e-4, atol=1e-5)
    if not close.passed:
        close.message = _prerequisites(cls, "memory = token_emb(tokens) + pos_emb(positions), the query = ask_emb(position asked), "
                         "then attn(query, memory, memory) and head on the single query's output. " + close.message)
    result.add(close)
    return result


# ---------------------------------------------------------------------- goldens
def _mha_inputs(E):
    return wave_array((2, 4, E), 0.1), wave_array((2, 5, E), 1.3)  # (N, L, E), (N, S, E)


def _cross_inputs(E):
    return wave_array((2, 3, E), 0.4), wave_array((2, 5, E), 2.1), np.array([5, 2])  # (N, L, E), (N, S, E), (N,)


def golden_cases(namespace) -> dict[str, np.ndarray]:
    """Every case of this week's value checks through the classes and functions in ``namespace``
    (the reference answers, for ``python -m grader goldens``), with the checks' fixed weights."""
    out = _sdpa_goldens(namespace["scaled_dot_product_attention"])
    out["masks/causal"] = np.asarray(asnumpy(namespace["causal_mask"](4)), dtype=bool)
    out["masks/padding"] = np.asarray(asnumpy(namespace["padding_mask"](MASK_LENGTHS, 5)), dtype=bool)
    out["heads/split"] = asnumpy(namespace["split_heads"](Tensor(_heads_input()), 4))
    E, h = 12, 3
    model = namespace["MultiHeadAttention"](E, h)
    model.load_state_dict(deterministic_state(mha_shapes(E)))
    query, memory = _mha_inputs(E)
    for case, m in (("nomask", None), ("mask", example_mask(4, 5))):
        args = (Tensor(query), Tensor(memory), Tensor(memory)) + ((m,) if m is not None else ())
        o, w = model(*args)
        out[f"mha/{case}/out"], out[f"mha/{case}/weights"] = asnumpy(o), asnumpy(w)
    E, h = 8, 2
    model = namespace["CrossAttention"](E, h)
    model.load_state_dict(deterministic_state(mha_shapes(E, "mha.")))
    dec, enc, lengths = _cross_inputs(E)
    o, w = model(Tensor(dec), Tensor(enc), lengths)
    out["cross/out"], out["cross/weights"] = asnumpy(o), asnumpy(w)
    V, T, E, h = 6, 5, 8, 2
    model = namespace["PositionLookup"](V, T, E, h)
    model.load_state_dict(deterministic_state(lookup_shapes(V, T, E)))
    out["lookup/logits"] = asnumpy(model(Tensor(lookup_inputs(3, T, V))))
    out["lookup/weights"] = asnumpy(model.last_weights)
    return {k: np.asarray(v) for k, v in out.items()}


__all__ = ["attention_inputs", "deterministic_state", "example_mask", "golden_cases", "lookup_inputs", "lookup_shapes",
           "mha_shapes", "test_cross_attention", "test_masks", "test_multi_head_attention",
           "test_position_lookup", "test_split_merge_heads", "test_transformer_attention", "wave_array"]
