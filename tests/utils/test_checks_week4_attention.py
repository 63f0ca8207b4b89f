"""The week-4 visible checks: each passes the reference, fails a typical mistake with a
message naming it, reports an unfinished stub, and runs in about a second."""
import time

import numpy as np
import pytest

from utils import Tensor
from utils.checks.week4_attention import (test_cross_attention as check_cross_attention, test_masks as check_masks,
                                          test_multi_head_attention as check_mha, test_position_lookup as check_lookup,
                                          test_split_merge_heads as check_split_merge,
                                          test_transformer_attention as check_attention)
from utils.nn import Embedding, Linear, Module


def sdpa(Q, K, V, mask=None):
    """An answer written from Tensor operations (the library's own would be refused as delegation)."""
    scores = (Q @ K.transpose(-2, -1)) / float(np.sqrt(Q.shape[-1]))  # (..., L, S)
    if mask is not None:
        allowed = np.asarray(mask.numpy() if isinstance(mask, Tensor) else mask, dtype=bool)
        scores = scores.masked_fill(~allowed, -1e9)
    weights = scores.softmax(-1)  # (..., L, S)
    return weights @ V, weights


def causal_mask(seq_len):
    return np.tril(np.ones((seq_len, seq_len), dtype=bool))


def padding_mask(lengths, max_len):
    lengths = np.asarray(lengths.numpy() if isinstance(lengths, Tensor) else lengths)  # a list, an array or a Tensor
    return np.arange(max_len)[None, :] < lengths[:, None]


def split_heads(x, num_heads):
    N, T, D = x.shape
    return x.reshape(N, T, num_heads, D // num_heads).transpose(1, 2)


def merge_heads(x):
    N, h, T, d = x.shape
    return x.transpose(1, 2).reshape(N, T, h * d)


def make_mha(average=False, out_proj=True):
    class MHA(Module):
        def __init__(self, d_model, num_heads):
            super().__init__()
            self.num_heads = num_heads
            self.q_proj, self.k_proj = Linear(d_model, d_model), Linear(d_model, d_model)
            self.v_proj, self.out_proj = Linear(d_model, d_model), Linear(d_model, d_model)

        def forward(self, query, key, value, mask=None):
            q, k, v = (split_heads(p(x), self.num_heads) for p, x in ((self.q_proj, query), (self.k_proj, key), (self.v_proj, value)))
            heads, w = sdpa(q, k, v, mask)
            out = merge_heads(heads)
            return (self.out_proj(out) if out_proj else out), (w.mean(axis=1) if average else w)
    return MHA


MHA = make_mha()


def make_cross(masked=True):
    class Cross(Module):
        def __init__(self, d_model, num_heads):
            super().__init__()
            self.mha = MHA(d_model, num_heads)

        def forward(self, dec, enc, lengths):
            mask = padding_mask(lengths, enc.shape[1])[:, None, None, :] if masked else None
            return self.mha(dec, enc, enc, mask)
    return Cross


def make_lookup(positions=True):
    class Lookup(Module):
        def __init__(self, vocab_size, seq_len, d_model=32, num_heads=2):
            super().__init__()
            self.token_emb, self.pos_emb = Embedding(vocab_size, d_model), Embedding(seq_len, d_model)
            self.ask_emb, self.attn = Embedding(seq_len, d_model), MHA(d_model, num_heads)
            self.head = Linear(d_model, vocab_size)

        def forward(self, X):
            letters, where = X[:, :-1], X[:, -1:]
            memory = self.token_emb(letters) + (self.pos_emb(np.arange(letters.shape[1])) if positions else 0)
            out, self.last_weights = self.attn(self.ask_emb(where), memory, memory)
            return self.head(out[:, 0])
    return Lookup


def stub(*args, **kwargs):
    raise NotImplementedError()


def messages(result):
    return " ".join(item.message for item in result.failed_items)


REFERENCE_RUNS = [
    lambda: check_attention(sdpa),
    lambda: check_masks(causal_mask, padding_mask),
    lambda: check_split_merge(split_heads, merge_heads),
    lambda: check_mha(MHA),
    lambda: check_cross_attention(make_cross()),
    lambda: check_lookup(make_lookup()),
]


@pytest.mark.parametrize("run", REFERENCE_RUNS, ids=["sdpa", "masks", "heads", "mha", "cross", "lookup"])
def test_reference_passes_quickly(run):
    start = time.perf_counter()
    result = run()
    assert result.passed, messages(result)
    assert time.perf_counter() - start < 2.0


def test_masks_name_the_mistakes():
    upper = check_masks(lambda T: np.triu(np.ones((T, T), dtype=bool)), padding_mask)
    assert not upper.passed and "np.tril" in messages(upper)
    inverted = check_masks(causal_mask, lambda lengths, S: ~padding_mask(lengths, S))
    assert not inverted.passed and "polarity" in messages(inverted)
    off = check_masks(causal_mask, lambda lengths, S: np.arange(S)[None, :] <= np.asarray(lengths)[:, None])
    assert not off.passed and "one position too many" in messages(off)
    floats = check_masks(lambda T: np.tril(np.ones((T, T))), padding_mask)
    assert not floats.passed and "boolean" in messages(floats)


def test_split_heads_bare_reshape_is_named():
    result = check_split_merge(lambda x, h: x.reshape(x.shape[0], h, x.shape[1], x.shape[2] // h), merge_heads)
    assert not result.passed and "bare reshape" in messages(result)


def test_mha_mistakes_are_named():
    averaged = check_mha(make_mha(average=True))
    assert not averaged.passed and "per-head" in messages(averaged)
    no_out = check_mha(make_mha(out_proj=False))
    assert not no_out.passed and "out_proj" in messages(no_out)


def test_cross_attention_without_mask_fails():
    result = check_cross_attention(make_cross(masked=False))
    assert not result.passed and "padded encoder position" in messages(result)


def test_lookup_without_positions_fails():
    result = check_lookup(make_lookup(positions=False))
    assert not result.passed and "pos_emb" in messages(result)


@pytest.mark.parametrize("run", [lambda: check_masks(stub, stub), lambda: check_split_merge(stub, stub),
                                 lambda: check_mha(stub), lambda: check_cross_attention(stub), lambda: check_lookup(stub)])
def test_stubs_report_not_implemented(run):
    result = run()
    assert not result.passed and "not implemented yet" in messages(result)


def test_swapped_results_are_named():
    def swapped(Q, K, V, mask=None):
        out, w = sdpa(Q, K, V, mask)
        return w, out

    assert "swapped: return (output, weights)" in messages(check_attention(swapped))


def test_results_computed_in_numpy_fail_the_gradient_check():
    def detached(Q, K, V, mask=None):
        out, w = sdpa(Q, K, V, mask)
        return Tensor(out.numpy()), w

    text = messages(check_attention(detached))
    assert "no gradient reaches Q" in text and "computed outside Tensor operations" in text


def test_split_heads_wrong_reshape_order_is_named():
    def wrong_order(x, num_heads):
        N, T, D = x.shape
        return x.reshape(N, T, D // num_heads, num_heads).permute(0, 3, 1, 2)

    assert "reshape order is wrong" in messages(check_split_merge(wrong_order, merge_heads))


def _namespace_with(**overrides):
    """A notebook-like namespace holding the answers above (``overrides`` replacing some), where
    MultiHeadAttention and PositionLookup are defined so that they look up the functions by name."""
    namespace = {"np": np, "Tensor": Tensor, "Module": Module, "Linear": Linear, "Embedding": Embedding,
                 "scaled_dot_product_attention": sdpa, "split_heads": split_heads, "merge_heads": merge_heads}
    namespace.update(overrides)
    exec('''
class MultiHeadAttention(Module):
    def __init__(self, d_model, num_heads):
        super().__init__()
        self.num_heads = num_heads
        self.q_proj, self.k_proj = Linear(d_model, d_model), Linear(d_model, d_model)
        self.v_proj, self.out_proj = Linear(d_model, d_model), Linear(d_model, d_model)

    def forward(self, query, key, value, mask=None):
        q, k, v = (split_heads(p(x), self.num_heads) for p, x in ((self.q_proj, query), (self.k_proj, key), (self.v_proj, value)))
        heads, w = scaled_dot_product_attention(q, k, v, MASK)
        return self.out_proj(merge_heads(heads)), w


class PositionLookup(Module):
    def __init__(self, vocab_size, seq_len, d_model=32, num_heads=2):
        super().__init__()
        self.token_emb, self.pos_emb = Embedding(vocab_size, d_model), Embedding(seq_len, d_model)
        self.ask_emb, self.attn = Embedding(seq_len, d_model), MultiHeadAttention(d_model, num_heads)
        self.head = Linear(d_model, vocab_size)

    def forward(self, X):
        letters, where = X[:, :-1], X[:, WHERE]
        memory = self.token_emb(letters) + self.pos_emb(np.arange(letters.shape[1]))
        out, self.last_weights = self.attn(self.ask_emb(where), memory, memory)
        return self.head(out[:, 0])
'''.replace("MASK", namespace.pop("MASK", "mask")).replace("WHERE", namespace.pop("WHERE", "-1:")), namespace)
    return namespace


def test_mha_mask_not_passed_on_is_named():
    assert "the mask was not passed on" in messages(check_mha(_namespace_with(MASK="None")["MultiHeadAttention"]))


def test_lookup_query_axis_dropped_is_named():
    assert "the query lost its length-1 axis" in messages(check_lookup(_namespace_with(WHERE="-1")["PositionLookup"]))


def test_a_failing_earlier_exercise_is_named_first():
    def unscaled(Q, K, V, mask=None):
        return sdpa(Q * float(np.sqrt(Q.shape[-1])), K, V, mask)

    namespace = _namespace_with(scaled_dot_product_attention=unscaled)
    for check, name in ((check_mha, "MultiHeadAttention"), (check_lookup, "PositionLookup")):
        assert "Exercise 1 (scaled_dot_product_attention) fails its check; fix it first" in messages(check(namespace[name]))
    assert _namespace_with()["MultiHeadAttention"] and check_mha(_namespace_with()["MultiHeadAttention"]).passed
