"""Deliberately broken references for week 5: every hidden check must fail at least one,
and every mutant must fail at least one check (tests/test_weeks.py).

Each mutant is a solution cell of ``solutions/week5_transformer/transformer.ipynb`` (read by
grade id, ``### BEGIN/END SOLUTION`` marker lines dropped) with the exact ``(old, new)``
replacements listed next to its name; the name says what is broken, a comment adds the rest."""
from functools import cache
from pathlib import Path

import nbformat

SOLUTION = Path(__file__).resolve().parents[3] / "solutions" / "week5_transformer" / "transformer.ipynb"
MARKERS = ("### BEGIN SOLUTION", "### END SOLUTION")


@cache
def _solution_cells() -> dict:
    nb = nbformat.read(SOLUTION, as_version=4)
    return {c.metadata["nbgrader"]["grade_id"]: c.source for c in nb.cells if "grade_id" in c.metadata.get("nbgrader", {})}


def _broken(grade_id: str, *edits: tuple[str, str]) -> str:
    """The solution cell ``grade_id`` without its marker lines, with each ``(old, new)`` applied;
    ``old`` must occur exactly once."""
    lines = _solution_cells()[grade_id].splitlines(keepends=True)
    source = "".join(line for line in lines if line.strip() not in MARKERS)
    for old, new in edits:
        if source.count(old) != 1:
            raise ValueError(f"{grade_id}: {old!r} occurs {source.count(old)} times in the solution cell, expected once")
        source = source.replace(old, new)
    return source


MUTANTS = {
    "pe_sin_cos_swapped": {"pe": _broken(
        "pe", ("pe[:, 0::2] = np.sin(", "pe[:, 0::2] = np.cos("), ("pe[:, 1::2] = np.cos(", "pe[:, 1::2] = np.sin("))},
    # frequencies 10000 ** (-i / D) instead of 10000 ** (-2i / D)
    "pe_linear_exponent": {"pe": _broken(
        "pe", ("-np.arange(0, d_model, 2) / d_model)", "-np.arange(0, d_model, 2) / (2 * d_model))"))},
    "pe_returns_tensor": {"pe": _broken("pe", ("    return pe\n", "    return Tensor(pe)\n"))},
    "ff_no_relu": {"feed_forward": _broken(
        "feed_forward", ("self.linear1(x).relu()", "self.linear1(x)"))},
    "ff_no_dropout": {"feed_forward": _broken(
        "feed_forward", ("hidden = self.dropout(self.linear1(x).relu())", "hidden = self.linear1(x).relu()"))},
    "enc_no_dropout_on_attention": {"encoder_layer": _broken(
        "encoder_layer", ("x = self.norm1(x + self.dropout(attended))", "x = self.norm1(x + attended)"))},
    "dec_no_dropout_on_attention": {"decoder_layer": _broken(
        "decoder_layer", ("x = self.norm1(x + self.dropout(attended))", "x = self.norm1(x + attended)"),
        ("x = self.norm2(x + self.dropout(attended))", "x = self.norm2(x + attended)"))},
    "enc_no_residual": {"encoder_layer": _broken(
        "encoder_layer", ("self.norm1(x + self.dropout(attended))", "self.norm1(self.dropout(attended))"))},
    "enc_mask_ignored": {"encoder_layer": _broken(
        "encoder_layer", ("key_padding_mask=src_mask", "key_padding_mask=None"))},
    # half pre-norm: the attention sum is never normalised, norm2 moves before the feed-forward
    "enc_pre_norm": {"encoder_layer": _broken(
        "encoder_layer",
        ("x = self.norm1(x + self.dropout(attended))  # (N, S, E)", "x = x + self.dropout(attended)"),
        ("x = self.norm2(x + self.dropout(self.feed_forward(x)))", "x = x + self.dropout(self.feed_forward(self.norm2(x)))"))},
    "dec_no_causal": {"decoder_layer": _broken(
        "decoder_layer", ("attn_mask=tgt_mask", "attn_mask=None"))},
    # cross-attention takes its keys and values from x instead of memory
    "dec_cross_on_self": {"decoder_layer": _broken(
        "decoder_layer", ("self.cross_attn(x, memory, memory,", "self.cross_attn(x, x, x,"))},
    "dec_weights_not_kept": {"decoder_layer": _broken(
        "decoder_layer", ("attended, self.cross_attn_weights =", "attended, _ ="))},
    "dec_cross_mask_ignored": {"decoder_layer": _broken(
        "decoder_layer", ("key_padding_mask=src_mask", "key_padding_mask=None"))},
    # target side only: the encoder still adds positions
    "tf_no_positions": {"transformer": _broken(
        "transformer", ("self.tgt_embed(tgt_in) + self.pe[:T]", "self.tgt_embed(tgt_in)"))},
    "tf_shared_decoder_layers": {"transformer": _broken(
        "transformer", ("x = layer(x, memory, src_mask, tgt_mask)", "x = self.decoder_layers[0](x, memory, src_mask, tgt_mask)"))},
    "tf_greedy_first_position": {"transformer": _broken(
        "transformer", ("logits.numpy()[:, -1]", "logits.numpy()[:, 0]"))},
    "tf_greedy_no_src_mask": {"transformer": _broken(
        "transformer", ("with no_grad():\n            memory = self.encode(src, src_mask)  # (N, S, E)\n",
                        "with no_grad():\n            memory = self.encode(src)  # (N, S, E)\n            src_mask = None\n"))},
    "tf_greedy_one_extra": {"transformer": _broken(
        "transformer", ("for _ in range(max_len):", "for _ in range(max_len + 1):"))},
    "tf_greedy_no_end_padding": {"transformer": _broken(  # finished rows go on decoding freely
        "transformer", ("np.where(finished, end_token, logits.numpy()[:, -1].argmax(-1))", "logits.numpy()[:, -1].argmax(-1)"))},
    "tf_greedy_no_early_stop": {"transformer": _broken(
        "transformer", ("                if finished.all():\n                    break\n", ""))},
    "tf_greedy_float_tokens": {"transformer": _broken(
        "transformer", ("return tokens[:, 1:]  # (N, L)", "return tokens[:, 1:].astype(np.float64)  # (N, L)"))},
    "loss_counts_padding": {"masked_loss": _broken(
        "masked_loss", ("keep = (target != pad_token).astype(per_token.dtype)", "keep = np.ones(target.shape, dtype=per_token.dtype)"))},
    "loss_detached": {"masked_loss": _broken(
        "masked_loss", ("    return (per_token * Tensor(keep, dtype=keep.dtype)).sum() / max(float(keep.sum()), 1.0)\n",
                        "    loss = (per_token * Tensor(keep, dtype=keep.dtype)).sum() / max(float(keep.sum()), 1.0)\n"
                        "    return Tensor(loss.numpy(), dtype=loss.dtype)\n"))},
    "quiz_all_wrong": {"quiz": 'quiz_answers = {f"q{i}": "z" for i in range(1, 11)}\n'},
}

# Lying module: right values, but the LayerNorms' weights are used detached (no gradient
# reaches them) and the layer hides them from its parameter list. The old gradient check
# walked the parameters the module reported, so it passed; the new one walks the reference's.
LYING = {
    "liar_hides_norms": {"encoder_layer": _broken("encoder_layer") + '''

_HonestEncoderLayer = EncoderLayer


class EncoderLayer(_HonestEncoderLayer):
    def named_parameters(self, prefix=""):
        return ((n, p) for n, p in _HonestEncoderLayer.named_parameters(self, prefix) if ".norm" not in "." + n)

    def load_state_dict(self, state_dict, strict=True):
        for key, value in state_dict.items():
            *path, leaf = key.split(".")
            owner = self
            for part in path:
                owner = getattr(owner, part)
            getattr(owner, leaf).data = np.array(value)

    def forward(self, x, src_mask=None):
        from utils.nn import layer_norm

        def norm(m, h):
            return layer_norm(h, (h.shape[-1],), m.weight.detach(), m.bias.detach())

        attended, _ = self.self_attn(x, x, x, key_padding_mask=src_mask)
        x = norm(self.norm1, x + self.dropout(attended))
        return norm(self.norm2, x + self.dropout(self.feed_forward(x)))
'''},
}

# Delegation: the library's sinusoidal table and its encoder layer.
DELEGATING = {
    "delegates_sinusoidal_table": {"pe": '''
from utils.nn.embedding import sinusoidal_table


def positional_encoding(max_len, d_model):
    return sinusoidal_table(max_len, d_model)
'''},
    "delegates_encoder_layer": {"encoder_layer": '''
from utils.nn import TransformerEncoderLayer


class EncoderLayer(Module):
    def __init__(self, d_model, num_heads, d_ff, dropout=0.0):
        super().__init__()
        self.self_attn = MultiHeadAttention(d_model, num_heads, batch_first=True)
        self.feed_forward = FeedForward(d_model, d_ff, dropout)
        self.norm1, self.norm2 = LayerNorm(d_model), LayerNorm(d_model)
        inner = TransformerEncoderLayer(d_model, num_heads, d_ff, dropout=dropout)  # the library's layer, sharing these parts
        inner.self_attn, inner.linear1, inner.linear2 = self.self_attn, self.feed_forward.linear1, self.feed_forward.linear2
        inner.norm1, inner.norm2 = self.norm1, self.norm2
        self.__dict__["inner"] = inner

    def forward(self, x, src_mask=None):
        self.inner.train(self.training)
        return self.inner(x, src_key_padding_mask=src_mask)
'''},
}
MUTANTS.update(LYING)
MUTANTS.update(DELEGATING)

# Mutants that must earn nothing on the cell they replace (tests/test_weeks.py). The lying
# encoder computes the right values, so it keeps those points and loses the gradient one.
# (encoder_tests also holds FeedForward's check, which a delegating EncoderLayer beside a right
# FeedForward keeps: "cell:Name" restricts the claim to the checks named after EncoderLayer.)
ZERO = {"delegates_sinusoidal_table": "pe_tests", "delegates_encoder_layer": "encoder_tests:EncoderLayer"}
