"""Hidden checks for Exercise 5, ``PositionLookup.forward`` (2 points).

Other sizes than the visible check, a batch of one, the weights kept in ``last_weights``, and
gradients reaching every parameter (the position embeddings included).
"""
import numpy as np
import pytest

from grader.checks.support import array, close, moved, waves
from grader.checks.week4_attention.reference import grader_state, lookup_shapes, reference_lookup
from utils.checks.week4_attention import lookup_inputs

pytestmark = pytest.mark.grade_cell("lookup_tests")
CLASS = "PositionLookup"


@pytest.mark.points(1)
def test_other_sizes(student):
    """Other sizes: 7 letters, sequences of 4 and 9, a batch of one; logits and stored weights match"""
    outs = []
    for phase, (n, V, T, E, h) in ((0.0, (1, 7, 4, 6, 3)), (0.0, (5, 7, 9, 8, 2)), (2.1, (5, 7, 9, 8, 2))):
        state = grader_state(lookup_shapes(V, T, E), phase=phase)
        X = lookup_inputs(n, T, V)
        res = student.module(CLASS, {"vocab_size": V, "seq_len": T, "d_model": E, "num_heads": h}, [X], state=state,
                             attrs=["last_weights"])
        logits = array(res.outputs)
        ref_logits, ref_w = reference_lookup(state, X, V, T, E, h)
        assert logits.shape == (n, V), "the logits must have shape (N, vocab_size)"
        w = res.attrs.get("last_weights")
        assert w is not None, "store the attention weights in self.last_weights"
        assert close(array(w), ref_w), "self.last_weights is not the (N, h, 1, T) weights of the query over the memory"
        assert close(logits, ref_logits), "wrong logits (memory = token + position embeddings, query = ask_emb(position))"
        outs.append(logits)
    assert moved(outs[1], outs[2]), "the logits did not change when the weights changed: does forward use the loaded parameters?"


@pytest.mark.points(1)
def test_gradients_reach_every_parameter(student):
    """Gradients in float64: every parameter gets a gradient, the position embeddings included"""
    V, T, E, h = 5, 6, 8, 2
    state = grader_state(lookup_shapes(V, T, E), np.float64)
    X = lookup_inputs(4, T, V)
    res = student.module(CLASS, {"vocab_size": V, "seq_len": T, "d_model": E, "num_heads": h}, [X], state=state,
                         dtype="float64", backward=waves((4, V), 0.4, np.float64))
    ref_logits, _ = reference_lookup(state, X, V, T, E, h, dtype=np.float64)
    assert close(array(res.outputs), ref_logits, rtol=1e-9, atol=1e-10), "wrong logits in float64"
    for name in lookup_shapes(V, T, E):
        info = res.parameters.get(name)
        assert info is not None, f"parameter {name} is missing"
        assert info.grad is not None and np.abs(array(info.grad)).sum() > 0, f"no gradient reached {name}: is it used in forward?"
