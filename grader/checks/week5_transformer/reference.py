"""Reference implementations for week 5's hidden checks (instructor side, never shipped).

Built from library layers with the submodule names the notebook prescribes; ``variant``
reproduces common mistakes. The visible checks in ``utils/checks/week5_transformer.py``
never see this code: they compare with goldens (``python -m grader goldens``).
"""
from __future__ import annotations

import numpy as np

from utils.backend import asnumpy
from utils.checks.week5_transformer import causal_mask, fill_parameters, random_parameters
from utils.losses import cross_entropy
from utils.nn import Embedding, LayerNorm, Linear, Module, ModuleList, MultiHeadAttention
from utils.nn.embedding import sinusoidal_table
from utils.tensor import Tensor, no_grad


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


def build_reference(cls, *args, variant=None, phase=0.0, seed=None):
    ref = cls(*args) if variant is None else cls(*args, variant=variant)
    fill_parameters(ref, phase) if seed is None else random_parameters(ref, seed)
    ref.eval()
    return ref
