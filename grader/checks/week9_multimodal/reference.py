"""References for week 9's hidden checks (instructor side, never shipped).

The visible checks in ``utils/checks/week9_multimodal.py`` compare with goldens instead
(``python -m grader goldens``).
"""
from __future__ import annotations

import numpy as np

from utils.backend import asnumpy
from utils.checks.week9_multimodal import PAD, text_state
from utils.nn import Embedding, LayerNorm, Linear, Module, ModuleList, PositionalEncoding, TransformerEncoderLayer
from utils.tensor import stack

__all__ = ["ReferenceTextEncoder", "grader_text_state", "reference_logits", "reference_loss"]


def reference_logits(image_features, text_features, logit_scale):
    """exp(s) * cosine similarities, from Tensor operations (so gradients can be compared).

    image_features: (N, D) Tensor; text_features: (M, D) Tensor; logit_scale: 0-d Tensor -> (N, M).
    """
    a = image_features / (image_features * image_features).sum(axis=1, keepdims=True).sqrt()  # (N, D)
    b = text_features / (text_features * text_features).sum(axis=1, keepdims=True).sqrt()  # (M, D)
    return logit_scale.exp() * (a @ b.T)  # (N, M)


def reference_loss(logits):
    """Symmetric InfoNCE: (N, N) Tensor -> 0-d Tensor, written with log_softmax and a diagonal pick."""
    n = logits.shape[0]
    i = np.arange(n)
    rows = -logits.log_softmax(axis=1)[i, i].mean()  # each image picks its text
    cols = -logits.log_softmax(axis=0)[i, i].mean()  # each text picks its image
    return (rows + cols) / 2


class ReferenceTextEncoder(Module):
    """The layout the notebook asks for: token_embedding, positional, layers, norm, proj."""

    def __init__(self, vocab_size, embed_dim, d_model=32, num_heads=2, num_layers=1, d_ff=64, max_len=16):
        super().__init__()
        self.token_embedding = Embedding(vocab_size, d_model, padding_idx=PAD)
        self.positional = PositionalEncoding(d_model, max_len)
        self.layers = ModuleList([TransformerEncoderLayer(d_model, num_heads, d_ff, dropout=0.0, activation="gelu",
                                                          norm_first=True) for _ in range(num_layers)])
        self.norm = LayerNorm(d_model)
        self.proj = Linear(d_model, embed_dim)

    def forward(self, tokens):
        tokens = np.asarray(tokens)
        keep = tokens != PAD  # (N, T)
        x = self.positional(self.token_embedding(tokens))  # (N, T, D)
        for layer in self.layers:
            x = layer(x, src_key_padding_mask=keep)
        x = self.norm(x)
        pooled = []
        for n in range(tokens.shape[0]):  # the slow, obvious mean over each caption's real words
            pooled.append(x[n, np.flatnonzero(keep[n])].mean(axis=0))
        return self.proj(stack(pooled, axis=0))  # (N, E)


def grader_text_state(model: Module, dtype=np.float64, phase: float = 0.6) -> dict:
    """Weights only the grader knows: the visible checks' values (``text_state``, public) scaled
    entry by entry by 1 + 0.4 sin(phase + 0.91 k); the position table stays as it is."""
    out = {}
    for name, value in text_state(model, np.float64).items():
        if name.endswith("positional.pe"):
            out[name] = np.asarray(asnumpy(value)).astype(dtype)
            continue
        factor = 1.0 + 0.4 * np.sin(phase + 0.91 * np.arange(value.size)).reshape(value.shape)
        out[name] = (value * factor).astype(dtype)
    return out
