"""Visible checks for week 5 (the Transformer). Each runs in about a second.

Weights are never left to the student's random initialisation: each check builds a
reference made of library layers with the submodule names the notebook prescribes,
fills its parameters with deterministic values, and loads them into the student's module
with ``load_state_dict``. Sizes differ per axis (batch 2, S=5 source and T=4 target
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
from ..nn import Embedding, LayerNorm, Linear, Module, ModuleList, MultiHeadAttention
from ..nn.embedding import sinusoidal_table
from ..tensor import Tensor, no_grad
from .result import CheckItem, CheckResult, check_close, check_shape, run_student

NAMES = {
    "FeedForward": "linear1 (d_model -> d_ff), linear2 (d_ff -> d_model)",
    "EncoderLayer": "self_attn, feed_forward, norm1, norm2",
    "DecoderLayer": "self_attn, cross_attn, feed_forward, norm1, norm2, norm3",
    "Transformer": "src_embed, tgt_embed, encoder_layers, decoder_layers, out_proj and the buffer pe",
}


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


# ---------------------------------------------------------------------- references (library layers)
class ReferenceFeedForward(Module):
    """linear2(relu(linear1(x))): (N, T, d_model) -> (N, T, d_model)."""

    def __init__(self, d_model, d_ff, relu=True):
        super().__init__()
        self.linear1 = Linear(d_model, d_ff)
        self.linear2 = Linear(d_ff, d_model)
        self.use_relu = relu

    def forward(self, x):
        h = self.linear1(x)  # (N, T, d_ff)
        return self.linear2(h.relu() if self.use_relu else h)  # (N, T, d_model)


def _sublayer(x, out, norm, variant):
    if variant == "no_residual":
        return norm(out)
    return norm(x + out)


class ReferenceEncoderLayer(Module):
    """Post-norm encoder block; ``variant`` reproduces common mistakes for diagnosis."""

    def __init__(self, d_model, num_heads, d_ff, variant="ok"):
        super().__init__()
        self.self_attn = MultiHeadAttention(d_model, num_heads, batch_first=True)
        self.feed_forward = ReferenceFeedForward(d_model, d_ff)
        self.norm1 = LayerNorm(d_model)
        self.norm2 = LayerNorm(d_model)
        self.variant = variant

    def forward(self, x, src_mask=None):
        x = self._input(x)
        if self.variant == "mask_ignored":
            src_mask = None
        elif self.variant == "mask_inverted" and src_mask is not None:
            src_mask = ~np.asarray(src_mask)
        if self.variant == "pre_norm":
            h = self.norm1(x)
            x = x + self.self_attn(h, h, h, key_padding_mask=src_mask)[0]  # (N, S, E)
            return x + self.feed_forward(self.norm2(x))  # (N, S, E)
        x = _sublayer(x, self.self_attn(x, x, x, key_padding_mask=src_mask)[0], self.norm1, self.variant)  # (N, S, E)
        return _sublayer(x, self.feed_forward(x), self.norm2, self.variant)  # (N, S, E)


class ReferenceDecoderLayer(Module):
    """Post-norm decoder block (causal self-attention, cross-attention, feed-forward)."""

    def __init__(self, d_model, num_heads, d_ff, variant="ok"):
        super().__init__()
        self.self_attn = MultiHeadAttention(d_model, num_heads, batch_first=True)
        self.cross_attn = MultiHeadAttention(d_model, num_heads, batch_first=True)
        self.feed_forward = ReferenceFeedForward(d_model, d_ff)
        self.norm1 = LayerNorm(d_model)
        self.norm2 = LayerNorm(d_model)
        self.norm3 = LayerNorm(d_model)
        self.variant = variant

    def forward(self, x, memory, src_mask=None, tgt_mask=None):
        x, memory = self._input(x), self._input(memory)
        if self.variant == "no_causal":
            tgt_mask = None
        if self.variant == "cross_mask_ignored":
            src_mask = None
        out, self.self_attn_weights = self.self_attn(x, x, x, attn_mask=tgt_mask)  # (N, T, E), (N, T, T)
        x = _sublayer(x, out, self.norm1, self.variant)  # (N, T, E)
        out, self.cross_attn_weights = self.cross_attn(x, memory, memory, key_padding_mask=src_mask)  # (N, T, E), (N, T, S)
        x = _sublayer(x, out, self.norm2, self.variant)  # (N, T, E)
        return _sublayer(x, self.feed_forward(x), self.norm3, self.variant)  # (N, T, E)


class ReferenceTransformer(Module):
    """Encoder-decoder Transformer with the prescribed submodule names."""

    def __init__(self, src_vocab, tgt_vocab, d_model, num_heads, num_layers, d_ff, max_len):
        super().__init__()
        self.src_embed = Embedding(src_vocab, d_model)
        self.tgt_embed = Embedding(tgt_vocab, d_model)
        self.register_buffer("pe", Tensor(sinusoidal_table(max_len, d_model)))
        self.encoder_layers = ModuleList([ReferenceEncoderLayer(d_model, num_heads, d_ff) for _ in range(num_layers)])
        self.decoder_layers = ModuleList([ReferenceDecoderLayer(d_model, num_heads, d_ff) for _ in range(num_layers)])
        self.out_proj = Linear(d_model, tgt_vocab)

    def encode(self, src, src_mask=None):
        x = self.src_embed(np.asarray(src)) + self.pe[: np.shape(src)[1]]  # (N, S, E)
        for layer in self.encoder_layers:
            x = layer(x, src_mask)  # (N, S, E)
        return x

    def decode(self, tgt_in, memory, src_mask=None, tgt_mask=None):
        x = self.tgt_embed(np.asarray(tgt_in)) + self.pe[: np.shape(tgt_in)[1]]  # (N, T, E)
        for layer in self.decoder_layers:
            x = layer(x, memory, src_mask, tgt_mask)  # (N, T, E)
        return self.out_proj(x)  # (N, T, tgt_vocab)

    def forward(self, src, tgt_in, src_mask=None, tgt_mask=None):
        return self.decode(tgt_in, self.encode(src, src_mask), src_mask, tgt_mask)  # (N, T, tgt_vocab)

    def greedy_decode(self, src, start_token, end_token, max_len, src_mask=None):
        src = np.asarray(src)
        with no_grad():
            memory = self.encode(src, src_mask)  # (N, S, E)
            tokens = np.full((src.shape[0], 1), start_token, dtype=np.int64)  # (N, 1)
            done = np.zeros(src.shape[0], dtype=bool)
            for _ in range(max_len):
                T = tokens.shape[1]
                logits = self.decode(tokens, memory, src_mask, causal_mask(T))  # (N, T, V)
                nxt = np.where(done, end_token, asnumpy(logits.data)[:, -1].argmax(-1))  # (N,)
                tokens = np.concatenate([tokens, nxt[:, None]], axis=1)  # (N, T + 1)
                done |= nxt == end_token
                if done.all():
                    break
        return tokens[:, 1:]  # (N, L), L <= max_len


def reference_masked_loss(logits, target, pad_token):
    """Mean cross-entropy over the positions where ``target != pad_token``."""
    logits = logits if isinstance(logits, Tensor) else Tensor(logits, dtype=np.asarray(logits).dtype)
    target = np.asarray(target)
    N, T, V = logits.shape
    per_token = cross_entropy(logits.reshape(N * T, V), target.reshape(-1), reduction="none")  # (N*T,)
    keep = (target.reshape(-1) != pad_token).astype(per_token.dtype)  # (N*T,)
    return (per_token * Tensor(keep, dtype=keep.dtype)).sum() / max(float(keep.sum()), 1.0)


def random_parameters(module: Module, seed: int) -> Module:
    """Fixed-seed normal weights (LayerNorm gains near 1), in place: greedy outputs then depend on the input."""
    rng = np.random.default_rng(seed)
    for name, p in module.named_parameters():
        is_norm = name.split(".")[-2].startswith("norm")
        values = rng.standard_normal(p.shape) * (0.2 if is_norm else 1.0) + (1.0 if is_norm and name.endswith("weight") else 0.0)
        p.data = p.xp.asarray(values, dtype=p.dtype)
    return module


def build_reference(cls, *args, variant=None, phase=0.0, seed=None):
    ref = cls(*args) if variant is None else cls(*args, variant=variant)
    fill_parameters(ref, phase) if seed is None else random_parameters(ref, seed)
    ref.eval()
    return ref


# ---------------------------------------------------------------------- helpers
def _build_student(result, cls, kwargs, reference, what):
    """Instantiate ``cls(**kwargs)``, load the reference's weights; the module or None."""
    module, error = run_student(f"{what}(...) builds", cls, **kwargs)
    if error:
        result.add(error)
        return None
    state = {k: v for k, v in reference.state_dict().items()}
    names = [k for k, _ in reference.named_parameters()]
    try:
        module.load_state_dict(state)
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


def _compare(result, label, out, ref_out, expected_shape, diagnose=None, rtol=1e-4, atol=1e-5):
    shape = check_shape(f"output shape ({label})", out, expected_shape)
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
    return variant_out.shape == out.shape and np.allclose(variant_out, out, atol=atol, rtol=1e-4)


# ---------------------------------------------------------------------- Exercise 1
def test_positional_encoding(fn) -> CheckResult:
    """Check ``fn(max_len, d_model) -> (max_len, d_model)`` against ``utils.nn.PositionalEncoding``."""
    result = CheckResult("positional_encoding")
    for max_len, d_model in ((12, 10), (6, 7)):
        raw, error = run_student(f"runs ({max_len}, {d_model})", fn, max_len, d_model)
        if error:
            result.add(error)
            return result
        if raw is None:
            result.add(CheckItem("returns a table", False, "received None: is a `return` missing?"))
            return result
        pe = asnumpy(raw).astype(np.float64)
        shape = check_shape(f"shape for max_len={max_len}, d_model={d_model}", pe, (max_len, d_model))
        result.add(shape)
        if not shape.passed:
            return result
        ref = sinusoidal_table(max_len, d_model)
        item = check_close(f"values for max_len={max_len}, d_model={d_model}", pe, ref, rtol=1e-4, atol=1e-5)
        if not item.passed:
            hints = []
            if np.allclose(pe[:, 1::2], np.sin(np.arange(max_len)[:, None] * 10000.0 ** (-np.arange(0, d_model - 1, 2) / d_model)), atol=1e-4):
                hints.append("sin and cos are swapped: sin goes on the even dimensions (0, 2, 4, ...), cos on the odd ones")
            elif np.allclose(pe[:, 0], np.sin(np.arange(max_len)), atol=1e-4) and not np.allclose(pe[:, 2], ref[:, 2], atol=1e-4):
                hints.append("the frequencies are wrong: dimensions 2i and 2i+1 share the angle pos / 10000**(2i / d_model)")
            elif not np.allclose(pe[0], ref[0], atol=1e-4):
                hints.append("row 0 (position 0) should be sin(0)=0 on even and cos(0)=1 on odd dimensions")
            if hints:
                item.message = "likely cause: " + "; ".join(hints) + ". " + item.message
        result.add(item)
        if not item.passed:
            return result
    return result


# ---------------------------------------------------------------------- Exercise 2
def test_feed_forward(FeedForward) -> CheckResult:
    """Check ``FeedForward(d_model=6, d_ff=10)`` on a (2, 3, 6) input."""
    result = CheckResult("FeedForward")
    ref = build_reference(ReferenceFeedForward, 6, 10)
    module = _build_student(result, FeedForward, {"d_model": 6, "d_ff": 10}, ref, "FeedForward")
    if module is None:
        return result
    x = Tensor(waves((2, 3, 6), 0.4))
    raw, error = run_student("forward", module, x)
    if error:
        result.add(error)
        return result
    out = asnumpy(raw)
    linear = build_reference(ReferenceFeedForward, 6, 10)
    linear.use_relu = False
    _compare(result, "(2, 3, 6) input", out, ref(x).numpy(), (2, 3, 6),
             lambda: "the ReLU between the two Linear layers is missing" if _matches(linear(x).numpy(), out) else "")
    return result


def _encoder_inputs():
    x = Tensor(waves((2, 5, 8), 0.2))
    return x, padding_mask([5, 3], 5)


def test_encoder_layer(EncoderLayer) -> CheckResult:
    """Check ``EncoderLayer(d_model=8, num_heads=2, d_ff=12)`` with and without a padding mask."""
    result = CheckResult("EncoderLayer")
    ref = build_reference(ReferenceEncoderLayer, 8, 2, 12)
    module = _build_student(result, EncoderLayer, {"d_model": 8, "num_heads": 2, "d_ff": 12}, ref, "EncoderLayer")
    if module is None:
        return result
    x, mask = _encoder_inputs()
    for label, m in (("no mask", None), ("padding mask", mask)):
        raw, error = run_student(f"forward ({label})", module, x, m)
        if error:
            result.add(error)
            return result
        out = asnumpy(raw)

        def diagnose(m=m, out=out):
            names = {"no_residual": "a residual connection is missing: each sub-block's output is added to its input, then normalised",
                     "pre_norm": "this is pre-norm (x + f(norm(x))); the exercise asks for post-norm: norm(x + f(x))",
                     "mask_ignored": "src_mask was ignored: pass it as key_padding_mask to self_attn",
                     "mask_inverted": "the mask is inverted: in this course True means 'a real token, may attend'"}
            for variant, words in names.items():
                if m is None and variant.startswith("mask"):
                    continue
                if _matches(build_reference(ReferenceEncoderLayer, 8, 2, 12, variant=variant)(x, m).numpy(), out):
                    return words
            return ""

        if not _compare(result, label, out, ref(x, m).numpy(), (2, 5, 8), diagnose):
            return result
    return result


# ---------------------------------------------------------------------- Exercise 3
def _decoder_inputs():
    x = Tensor(waves((2, 4, 8), 0.9))
    memory = Tensor(waves((2, 5, 8), 1.7))
    return x, memory, padding_mask([5, 3], 5), causal_mask(4)


def test_decoder_layer(DecoderLayer) -> CheckResult:
    """Check ``DecoderLayer(d_model=8, num_heads=2, d_ff=12)`` with causal and padding masks."""
    result = CheckResult("DecoderLayer")
    ref = build_reference(ReferenceDecoderLayer, 8, 2, 12)
    module = _build_student(result, DecoderLayer, {"d_model": 8, "num_heads": 2, "d_ff": 12}, ref, "DecoderLayer")
    if module is None:
        return result
    x, memory, src_mask, tgt_mask = _decoder_inputs()
    raw, error = run_student("forward", module, x, memory, src_mask, tgt_mask)
    if error:
        result.add(error)
        return result
    out = asnumpy(raw)

    def diagnose():
        names = {"no_causal": "tgt_mask was not used: pass it as attn_mask to the self-attention",
                 "cross_mask_ignored": "src_mask was not used: pass it as key_padding_mask to the cross-attention",
                 "no_residual": "a residual connection is missing: each sub-block's output is added to its input, then normalised"}
        for variant, words in names.items():
            if _matches(build_reference(ReferenceDecoderLayer, 8, 2, 12, variant=variant)(x, memory, src_mask, tgt_mask).numpy(), out):
                return words
        return ""

    if not _compare(result, "N=2, T=4, S=5", out, ref(x, memory, src_mask, tgt_mask).numpy(), (2, 4, 8), diagnose):
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
    return result


# ---------------------------------------------------------------------- Exercise 4
TRANSFORMER_SEED = 1
TRANSFORMER_KWARGS = dict(src_vocab=11, tgt_vocab=7, d_model=8, num_heads=2, num_layers=2, d_ff=12, max_len=16)


def transformer_inputs():
    """src (2, 5) with the second sequence padded after 3 tokens, tgt_in (2, 4), masks."""
    src = np.array([[3, 4, 5, 6, 7], [8, 9, 10, 0, 0]])
    tgt_in = np.array([[1, 3, 4, 5], [1, 6, 2, 0]])
    return src, tgt_in, src != 0, causal_mask(4)


def test_transformer(Transformer) -> CheckResult:
    """Check ``Transformer(...).forward`` and ``greedy_decode`` against a reference with the same weights."""
    result = CheckResult("Transformer")
    args = tuple(TRANSFORMER_KWARGS.values())
    ref = build_reference(ReferenceTransformer, *args, seed=TRANSFORMER_SEED)
    model = _build_student(result, Transformer, TRANSFORMER_KWARGS, ref, "Transformer")
    if model is None:
        return result
    src, tgt_in, src_mask, tgt_mask = transformer_inputs()
    raw, error = run_student("forward", model, src, tgt_in, src_mask, tgt_mask)
    if error:
        result.add(error)
        return result
    if not _compare(result, "logits (N, T, tgt_vocab)", asnumpy(raw), ref(src, tgt_in, src_mask, tgt_mask).numpy(), (2, 4, 7)):
        return result
    raw, error = run_student("greedy_decode", model.greedy_decode, src, 1, 2, 6, src_mask)
    if error:
        result.add(error)
        return result
    got = np.asarray(asnumpy(raw))
    want = ref.greedy_decode(src, 1, 2, 6, src_mask)
    ok_shape = got.ndim == 2 and got.shape[0] == 2 and got.shape[1] <= 6
    result.add(CheckItem("greedy_decode returns (N, L) with L <= max_len", ok_shape, "" if ok_shape else
                         f"expected a (2, L) integer array with L <= 6 (the start token left out), got shape {got.shape}"))
    if not ok_shape:
        return result
    ok = True
    for n in range(2):
        stop = list(want[n]).index(2) + 1 if 2 in want[n] else want.shape[1]
        ok &= got.shape[1] >= stop and np.array_equal(got[n, :stop], want[n, :stop])
    result.add(CheckItem("greedy_decode picks the most likely token at each step", bool(ok), "" if ok else
                         "the decoded tokens differ from a greedy reference: feed the tokens decoded so far (start token first) "
                         "with a causal tgt_mask, take the argmax of the LAST position, append it, and stop after end_token",
                         expected=want, received=got))
    return result


# ---------------------------------------------------------------------- Exercise 5
def test_masked_cross_entropy(fn) -> CheckResult:
    """Check ``fn(logits (N, T, V), target (N, T), pad_token) -> scalar`` on a padded batch."""
    result = CheckResult("masked_cross_entropy")
    logits = Tensor(waves((2, 4, 6), 0.3) * 2, requires_grad=True)
    target = np.array([[3, 1, 4, 0], [5, 2, 0, 0]])
    raw, error = run_student("runs", fn, logits, target, 0)
    if error:
        result.add(error)
        return result
    if not isinstance(raw, Tensor):
        result.add(CheckItem("returns a Tensor", False, f"return a scalar Tensor (so that .backward() works), got {type(raw).__name__}"))
        return result
    got = asnumpy(raw.data).reshape(-1)
    want = reference_masked_loss(logits, target, 0).numpy().reshape(-1)
    item = check_close("value", got, want, rtol=1e-4, atol=1e-5)
    if not item.passed:
        plain = cross_entropy(logits.reshape(8, 6), target.reshape(-1)).numpy().reshape(-1)
        if np.allclose(got, plain, atol=1e-4):
            item.message = "likely cause: padding positions were counted; average only where target != pad_token. " + item.message
        elif np.allclose(got, want * 5 / 8, atol=1e-4):
            item.message = "likely cause: padding was zeroed but the mean still divides by every position. " + item.message
    result.add(item)
    _, error = run_student("backward", raw.backward)
    if error:
        result.add(error)
        return result
    flows = logits.grad is not None and bool(np.abs(asnumpy(logits.grad)).sum() > 0)
    result.add(CheckItem("gradient reaches the logits", flows, "" if flows else
                         "no gradient reached the logits: build the loss from Tensor operations (no .numpy() round trip)"))
    return result


__all__ = ["test_positional_encoding", "test_feed_forward", "test_encoder_layer", "test_decoder_layer", "test_transformer",
           "test_masked_cross_entropy", "padding_mask", "causal_mask"]
