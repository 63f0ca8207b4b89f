"""Week 5's visible checks pass on the reference answers (the solution notebook's cells) and
fail, naming the likely mistake, on broken ones (the hidden checks' mutants and a few more)."""
from pathlib import Path

import nbformat
import pytest

from grader.checks.week5_transformer.mutants import MUTANTS
from utils.checks import week5_transformer as checks

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK = ROOT / "solutions" / "week5_transformer" / "transformer.ipynb"
CHECKS = {"pe": ("test_positional_encoding", "positional_encoding"),
          "feed_forward": ("test_feed_forward", "FeedForward"),
          "encoder_layer": ("test_encoder_layer", "EncoderLayer"),
          "decoder_layer": ("test_decoder_layer", "DecoderLayer"),
          "transformer": ("test_transformer", "Transformer"),
          "masked_loss": ("test_masked_cross_entropy", "masked_cross_entropy")}


def cells():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    return {c.metadata["nbgrader"]["grade_id"]: c.source for c in nb.cells if c.cell_type == "code"}


def namespace(replaced=None):
    sources = cells()
    sources.update(replaced or {})
    ns = {}
    for gid in ("setup", "pe", "feed_forward", "encoder_layer", "decoder_layer", "transformer", "masked_loss"):
        exec(compile(sources[gid], f"<{gid}>", "exec"), ns)
    return ns


def run(gid, ns):
    check, name = CHECKS[gid]
    return getattr(checks, check)(ns[name])


@pytest.mark.parametrize("gid", list(CHECKS))
def test_reference_passes(gid):
    result = run(gid, namespace())
    assert result.passed, result.to_text()


EXPECTED = {  # mutant -> (checked cell, words the failure message must contain)
    "pe_sin_cos_swapped": ("pe", "sin and cos are swapped"),
    "pe_linear_exponent": ("pe", "frequencies are wrong"),
    "ff_no_relu": ("feed_forward", "ReLU"),
    "enc_no_residual": ("encoder_layer", "a residual connection is missing"),
    "enc_mask_ignored": ("encoder_layer", "src_mask was ignored"),
    "enc_pre_norm": ("encoder_layer", "this is pre-norm"),
    "dec_no_causal": ("decoder_layer", "tgt_mask was not used"),
    "dec_cross_mask_ignored": ("decoder_layer", "src_mask was not used"),
    "dec_weights_not_kept": ("decoder_layer", "cross_attn_weights"),
    "dec_cross_on_self": ("decoder_layer", "raised ValueError"),
    "tf_no_positions": ("transformer", "output matches"),
    "tf_greedy_first_position": ("transformer", "argmax of the LAST position"),
    "tf_greedy_no_src_mask": ("transformer", "decoded tokens differ"),
    "tf_greedy_one_extra": ("transformer", "L <= max_len"),
    "loss_counts_padding": ("masked_loss", "padding positions were counted"),
    "loss_detached": ("masked_loss", "does not require grad"),
}


@pytest.mark.parametrize("mutant", list(EXPECTED))
def test_broken_answer_fails_with_a_plain_message(mutant):
    gid, words = EXPECTED[mutant]
    result = run(gid, namespace(MUTANTS[mutant]))
    assert not result.passed, f"the visible check passes on {mutant}"
    text = result.to_text()
    assert words in text, text


def test_unfinished_stub_says_not_implemented():
    stub = "def positional_encoding(max_len, d_model):\n    raise NotImplementedError()\n"
    result = run("pe", namespace({"pe": stub}))
    assert not result.passed and "not implemented yet" in result.to_text()


def test_misnamed_submodules_are_explained():
    source = cells()["encoder_layer"].replace("self.norm1", "self.first_norm")
    result = run("encoder_layer", namespace({"encoder_layer": source}))
    assert not result.passed and "Name the submodules" in result.to_text()
