"""Hidden checks for Exercise 4, ``Transformer`` (4 points): another configuration, batch size 1,
gradients to every parameter, and greedy decoding with and without a source mask (integer
tokens, end_token repeated in finished rows, an early stop once every row has finished)."""
import numpy as np
import pytest

from grader.checks.support import array, close, waves
from grader.checks.week5_transformer.reference import ReferenceTransformer
from utils.checks.week5_transformer import causal_mask, random_parameters

from grader.checks.week5_transformer.common import assert_param_grads, float64_reference, output_of, run_both

pytestmark = pytest.mark.grade_cell("transformer_tests")
CONFIG = dict(src_vocab=9, tgt_vocab=6, d_model=12, num_heads=3, num_layers=1, d_ff=10, max_len=20)


def reference(config=CONFIG, phase=0.9):
    return float64_reference(ReferenceTransformer, *config.values(), phase=phase)


@pytest.mark.points(1)
def test_forward_batch_one(student):
    """Transformer: one layer, batch size 1, S=7 and T=5, float64 logits"""
    ref = reference()
    src, tgt_in = np.array([[3, 8, 1, 4, 4, 2, 7]]), np.array([[1, 5, 0, 3, 2]])
    res = student.module("Transformer", CONFIG, [src, tgt_in, None, causal_mask(5)],
                         state={k: np.asarray(v) for k, v in ref.state_dict().items()}, dtype="float64")
    out = output_of(res)
    assert out.shape == (1, 5, 6), "the logits have the wrong shape: expected (N, T, tgt_vocab)"
    assert close(out, ref(src, tgt_in, None, causal_mask(5)).numpy(), rtol=1e-8, atol=1e-9), \
        "wrong logits (embed, add pe[:length], the layers, out_proj)"


@pytest.mark.points(1)
def test_gradients_every_parameter(student):
    """Transformer: backward from the logits reaches every parameter (embeddings, all layers, out_proj) correctly"""
    config = dict(CONFIG, num_layers=2)
    ref = reference(config, phase=1.7)
    src, tgt_in = np.array([[3, 8, 1, 0], [2, 2, 5, 6]]), np.array([[1, 5, 0], [1, 2, 3]])
    src_mask = src != 0
    upstream = waves((2, 3, 6), 0.3, np.float64)
    res, ref_out, ref, _ = run_both(student, "Transformer", config, ref, [src, tgt_in, src_mask, causal_mask(3)], upstream)
    assert close(output_of(res), ref_out, rtol=1e-8, atol=1e-9), "wrong logits with two layers and a source mask"
    assert_param_grads(res, ref, "Transformer")


def decoded_prefix_matches(got, want, end_token):
    got = np.asarray(array(got)).astype(np.int64)
    assert got.ndim == 2 and got.shape[0] == want.shape[0], "greedy_decode must return an (N, L) array of tokens"
    for n in range(want.shape[0]):
        row = list(want[n])
        stop = row.index(end_token) + 1 if end_token in row else len(row)
        if got.shape[1] < stop or not np.array_equal(got[n, :stop], want[n, :stop]):
            return False
    return True


@pytest.mark.points(1)
def test_greedy_decode(student):
    """greedy_decode: batch of three, integer tokens after the start token, at most max_len of them, argmax at each step, end_token repeated after the end"""
    ref = random_parameters(reference(), seed=2)  # decodes varied rows, one stopping at the end token
    src = np.array([[3, 8, 1, 4], [7, 7, 2, 5], [1, 2, 3, 4]])
    res = student.module("Transformer", CONFIG, [src, 0, 4, 5], state={k: np.asarray(v) for k, v in ref.state_dict().items()},
                         dtype="float64", method="greedy_decode")
    got = np.asarray(array(res.outputs))
    assert got.ndim == 2 and got.shape[1] <= 5, "greedy_decode must return (N, L) with L <= max_len (leave out the start token)"
    want = ref.greedy_decode(src, 0, 4, 5)
    assert decoded_prefix_matches(got, want, 4), \
        "greedy_decode picks different tokens: feed all tokens so far with a causal mask and take the argmax of the last position"
    kind = np.asarray(res.outputs).dtype  # (array() above makes float64 of anything)
    assert kind.kind in "iu", f"greedy_decode returned tokens of dtype {kind}: tokens are integers"
    assert got.shape == want.shape and np.array_equal(got, want), \
        "after a row's end_token, every later slot of that row must be end_token, and decoding stops once every row has finished"
    res = student.module("Transformer", CONFIG, [src, 0, 5, 5], state={k: np.asarray(v) for k, v in ref.state_dict().items()},
                         dtype="float64", method="greedy_decode")
    got, want = np.asarray(array(res.outputs)), ref.greedy_decode(src, 0, 5, 5)  # row 0 ends at step 2, the others never
    assert got.shape == want.shape and np.array_equal(got, want), \
        "a row that has produced end_token must go on with end_token while the other rows are decoded"


@pytest.mark.points(1)
def test_greedy_decode_src_mask_and_length_one(student):
    """greedy_decode: a source padding mask is used, a finished row keeps end_token, decoding stops once every row has finished, and max_len=1 gives one token per row"""
    ref = random_parameters(reference(), seed=8)  # one row stops at once, the other varies
    src = np.array([[3, 8, 0, 0, 0], [5, 1, 2, 6, 4]])
    src_mask = src != 0
    state = {k: np.asarray(v) for k, v in ref.state_dict().items()}
    res = student.module("Transformer", CONFIG, [src, 1, 2, 7, src_mask], state=state, dtype="float64", method="greedy_decode")
    want = ref.greedy_decode(src, 1, 2, 7, src_mask)  # row 0 ends at once, row 1 never
    assert decoded_prefix_matches(res.outputs, want, 2), \
        "greedy_decode ignores or misuses src_mask (pass it to encode and decode)"
    got = np.asarray(array(res.outputs))
    assert got.shape == want.shape and np.array_equal(got, want), \
        "a row that has produced end_token must go on with end_token while the other rows are decoded"
    res = student.module("Transformer", CONFIG, [src[:1], 1, 2, 7, src_mask[:1]], state=state, dtype="float64", method="greedy_decode")
    got, want = np.asarray(array(res.outputs)), ref.greedy_decode(src[:1], 1, 2, 7, src_mask[:1])
    assert got.shape == want.shape, f"decoding must stop once every row has produced end_token: expected {want.shape}, got {got.shape}"
    res = student.module("Transformer", CONFIG, [src, 1, 2, 1, src_mask], state=state, dtype="float64", method="greedy_decode")
    got = np.asarray(array(res.outputs))
    assert got.shape == (2, 1), "with max_len=1, greedy_decode must return exactly one token per row"
    assert decoded_prefix_matches(got, ref.greedy_decode(src, 1, 2, 1, src_mask), 2), "wrong first token with max_len=1"
