"""Hidden checks for Exercise 2, ``FeedForward`` and ``EncoderLayer`` (4 points): other sizes,
batch size 1, float64, padding masks, gradients to the input and every parameter, and dropout
(after the ReLU; on the attention's output) in training mode only."""
import numpy as np
import pytest

from grader.checks.support import array, close, moved, waves
from grader.checks.week5_transformer.reference import ReferenceEncoderLayer, ReferenceFeedForward
from utils.checks.week5_transformer import padding_mask

from grader.checks.week5_transformer.common import assert_dropout, assert_param_grads, float64_reference, output_of, run_both

pytestmark = pytest.mark.grade_cell("encoder_tests")


@pytest.mark.points(1)
def test_feed_forward_float64_gradients(student):
    """FeedForward: other sizes in float64, batch size 1, gradients to the input and both Linear layers; dropout only in training"""
    ref = float64_reference(ReferenceFeedForward, 5, 9)
    x = waves((1, 4, 5), 0.2, np.float64)
    upstream = waves((1, 4, 5), 1.0, np.float64)
    res, ref_out, ref, ref_in = run_both(student, "FeedForward", {"d_model": 5, "d_ff": 9}, ref, [x], upstream)
    out = output_of(res)
    assert out.shape == (1, 4, 5), "FeedForward returns the wrong shape for a (1, 4, 5) input"
    assert close(out, ref_out, rtol=1e-9, atol=1e-10), "FeedForward gives wrong values in float64 (a missing ReLU? a cast to float32?)"
    assert res.input_grads[0] is not None and close(array(res.input_grads[0]), ref_in[0].grad, rtol=1e-6, atol=1e-8), \
        "the gradient with respect to the FeedForward input is wrong"
    assert_param_grads(res, ref, "FeedForward")
    assert_dropout(student, "FeedForward", {"d_model": 5, "d_ff": 9}, ref, advice="apply Dropout(dropout) after the ReLU")


@pytest.mark.points(1)
def test_encoder_batch_one_no_mask(student):
    """EncoderLayer: batch size 1, 3 heads, d_model=12, no mask, in float64; dropout on the attention's output only in training"""
    ref = float64_reference(ReferenceEncoderLayer, 12, 3, 7)
    x = waves((1, 6, 12), 0.5, np.float64)
    res = student.module("EncoderLayer", {"d_model": 12, "num_heads": 3, "d_ff": 7}, [x],
                         state={k: np.asarray(v) for k, v in ref.state_dict().items()}, dtype="float64")
    out = output_of(res)
    assert out.shape == (1, 6, 12), "EncoderLayer returns the wrong shape for a (1, 6, 12) input"
    assert close(out, ref(x).numpy(), rtol=1e-9, atol=1e-10), \
        "EncoderLayer gives wrong values (order: attention, add, norm1, feed-forward, add, norm2)"
    other = float64_reference(ReferenceEncoderLayer, 12, 3, 7, phase=2.2)
    again = output_of(student.module("EncoderLayer", {"d_model": 12, "num_heads": 3, "d_ff": 7}, [x],
                                     state={k: np.asarray(v) for k, v in other.state_dict().items()}, dtype="float64"))
    assert close(again, other(x).numpy(), rtol=1e-9, atol=1e-10), "EncoderLayer gives wrong values with a second set of weights"
    assert moved(out, again), "the output did not change when the weights changed: does forward use the loaded parameters?"
    assert_dropout(student, "EncoderLayer", {"d_model": 12, "num_heads": 3, "d_ff": 7}, ref, off=("feed_forward.linear2",),
                   advice="apply Dropout(dropout) to the self-attention's output before adding it to x")


@pytest.mark.points(1)
def test_encoder_padding_mask(student):
    """EncoderLayer: a padding mask with very different lengths hides the padded keys (True = real token)"""
    ref = float64_reference(ReferenceEncoderLayer, 8, 4, 10)
    x = waves((3, 7, 8), 1.3, np.float64)
    mask = padding_mask([7, 2, 5], 7)
    res = student.module("EncoderLayer", {"d_model": 8, "num_heads": 4, "d_ff": 10}, [x, mask],
                         state={k: np.asarray(v) for k, v in ref.state_dict().items()}, dtype="float64")
    out = output_of(res)
    assert out.shape == (3, 7, 8), "EncoderLayer returns the wrong shape with a padding mask"
    assert close(out, ref(x, mask).numpy(), rtol=1e-9, atol=1e-10), \
        "EncoderLayer gives wrong values with a padding mask (pass src_mask as key_padding_mask; True = real token)"


@pytest.mark.points(1)
def test_encoder_gradients(student):
    """EncoderLayer: backward reaches the input and every parameter with the right values"""
    ref = float64_reference(ReferenceEncoderLayer, 8, 2, 6)
    x = waves((2, 5, 8), 0.7, np.float64)
    mask = padding_mask([5, 4], 5)
    upstream = waves((2, 5, 8), 2.0, np.float64)
    res, ref_out, ref, ref_in = run_both(student, "EncoderLayer", {"d_model": 8, "num_heads": 2, "d_ff": 6}, ref, [x, mask], upstream)
    assert close(output_of(res), ref_out, rtol=1e-9, atol=1e-10), "EncoderLayer gives wrong values"
    assert res.input_grads[0] is not None and close(array(res.input_grads[0]), ref_in[0].grad, rtol=1e-6, atol=1e-8), \
        "the gradient with respect to the EncoderLayer input is wrong (is a residual connection missing?)"
    assert_param_grads(res, ref, "EncoderLayer")
