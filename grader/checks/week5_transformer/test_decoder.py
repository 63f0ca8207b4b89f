"""Hidden checks for Exercise 3, ``DecoderLayer`` (4 points): other sizes, batch size 1, masks,
the stored weights, and gradients to the inputs and every parameter, in float64."""
import numpy as np
import pytest

from grader.checks.support import array, close, waves
from grader.checks.week5_transformer.reference import ReferenceDecoderLayer
from utils.checks.week5_transformer import causal_mask, padding_mask

from grader.checks.week5_transformer.common import assert_dropout, assert_param_grads, float64_reference, output_of, run_both

pytestmark = pytest.mark.grade_cell("decoder_tests")
STATE = lambda ref: {k: np.asarray(v) for k, v in ref.state_dict().items()}  # noqa: E731


@pytest.mark.points(1)
def test_batch_one_other_sizes(student):
    """DecoderLayer: batch size 1, T=3 target and S=6 source positions, 3 heads, no masks, float64; dropout on the attention outputs only in training"""
    ref = float64_reference(ReferenceDecoderLayer, 6, 3, 5)
    x, memory = waves((1, 3, 6), 0.1, np.float64), waves((1, 6, 6), 0.8, np.float64)
    res = student.module("DecoderLayer", {"d_model": 6, "num_heads": 3, "d_ff": 5}, [x, memory], state=STATE(ref), dtype="float64")
    out = output_of(res)
    assert out.shape == (1, 3, 6), "DecoderLayer returns the wrong shape for T=3, S=6"
    assert close(out, ref(x, memory).numpy(), rtol=1e-9, atol=1e-10), \
        "DecoderLayer gives wrong values (self-attention, add, norm1; cross-attention on memory, add, norm2; feed-forward, add, norm3)"
    assert_dropout(student, "DecoderLayer", {"d_model": 6, "num_heads": 3, "d_ff": 5}, ref, off=("feed_forward.linear2",),
                   extra_inputs=(waves((1, 4, 6), 0.8, np.float64),),
                   advice="apply Dropout(dropout) to each attention sub-block's output before adding it to x")


@pytest.mark.points(1)
def test_decoder_masks(student):
    """DecoderLayer: the causal mask and a source padding mask (True = may attend) are both applied"""
    ref = float64_reference(ReferenceDecoderLayer, 8, 2, 9)
    x, memory = waves((3, 5, 8), 0.4, np.float64), waves((3, 4, 8), 1.9, np.float64)
    src_mask, tgt_mask = padding_mask([4, 1, 2], 4), causal_mask(5)
    res = student.module("DecoderLayer", {"d_model": 8, "num_heads": 2, "d_ff": 9}, [x, memory, src_mask, tgt_mask],
                         state=STATE(ref), dtype="float64")
    out = output_of(res)
    assert out.shape == (3, 5, 8), "DecoderLayer returns the wrong shape with masks"
    assert close(out, ref(x, memory, src_mask, tgt_mask).numpy(), rtol=1e-9, atol=1e-10), \
        "DecoderLayer gives wrong values with masks (tgt_mask -> attn_mask of self_attn, src_mask -> key_padding_mask of cross_attn)"


@pytest.mark.points(1)
def test_stored_weights(student):
    """DecoderLayer: self_attn_weights (N, T, T) and cross_attn_weights (N, T, S) hold the last call's weights"""
    ref = float64_reference(ReferenceDecoderLayer, 8, 2, 9)
    x, memory = waves((2, 3, 8), 0.6, np.float64), waves((2, 5, 8), 1.1, np.float64)
    src_mask, tgt_mask = padding_mask([5, 3], 5), causal_mask(3)
    res = student.module("DecoderLayer", {"d_model": 8, "num_heads": 2, "d_ff": 9}, [x, memory, src_mask, tgt_mask],
                         state=STATE(ref), dtype="float64", attrs=["self_attn_weights", "cross_attn_weights"])
    ref(x, memory, src_mask, tgt_mask)
    for name, want in (("self_attn_weights", ref.self_attn_weights.numpy()), ("cross_attn_weights", ref.cross_attn_weights.numpy())):
        got = array(res.attrs.get(name))
        assert got.shape == want.shape, f"{name} has the wrong shape (keep the weights the attention returns, averaged over heads)"
        assert close(got, want, rtol=1e-8, atol=1e-10), f"{name} holds the wrong weights"


@pytest.mark.points(1)
def test_gradients(student):
    """DecoderLayer: backward reaches the target input, the memory and every parameter with the right values"""
    ref = float64_reference(ReferenceDecoderLayer, 8, 2, 6)
    x, memory = waves((2, 4, 8), 0.2, np.float64), waves((2, 3, 8), 1.4, np.float64)
    src_mask, tgt_mask = padding_mask([3, 2], 3), causal_mask(4)
    upstream = waves((2, 4, 8), 2.5, np.float64)
    res, ref_out, ref, ref_in = run_both(student, "DecoderLayer", {"d_model": 8, "num_heads": 2, "d_ff": 6}, ref,
                                         [x, memory, src_mask, tgt_mask], upstream)
    assert close(output_of(res), ref_out, rtol=1e-9, atol=1e-10), "DecoderLayer gives wrong values"
    for i, what in ((0, "target input x"), (1, "encoder memory")):
        assert res.input_grads[i] is not None, f"no gradient reached the {what}"
        assert close(array(res.input_grads[i]), ref_in[i].grad, rtol=1e-6, atol=1e-8), f"the gradient with respect to the {what} is wrong"
    assert_param_grads(res, ref, "DecoderLayer")
