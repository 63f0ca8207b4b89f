"""References for week 4's hidden checks (instructor side, never shipped).

The weights the checks load are the grader's own (``grader_state``): a module that ignores
``load_state_dict`` and recomputes with values it can find in the student-visible checks
gets other numbers. The references below are built from those same arrays, with the
library's ``MultiHeadAttention`` as the model answer.
"""
from __future__ import annotations

import numpy as np

from utils import Tensor
from utils.nn import MultiHeadAttention as Library

__all__ = ["grader_state", "lookup_shapes", "mha_shapes", "reference_lookup", "reference_mha"]


def grader_state(shapes: dict, dtype=np.float32, phase: float = 0.0) -> dict:
    """``{name: array}`` for ``{name: shape}``: deterministic values private to the grader, one set per ``phase``."""
    out = {}
    for i, (name, shape) in enumerate(shapes.items()):
        n = int(np.prod(shape))
        k = np.arange(n)
        values = 0.5 * np.sin(0.71 * k + 1.3 * i + phase) + 0.35 * np.cos(0.23 * k * (i % 3 + 1) + 0.5 * phase)
        out[name] = values.reshape(shape).astype(dtype)
    return out


def mha_shapes(d_model: int, prefix: str = "") -> dict:
    """``{name: shape}`` of a MultiHeadAttention's parameters (the exercise names them q/k/v/out_proj)."""
    shapes = {}
    for proj in ("q_proj", "k_proj", "v_proj", "out_proj"):
        shapes[f"{prefix}{proj}.weight"] = (d_model, d_model)
        shapes[f"{prefix}{proj}.bias"] = (d_model,)
    return shapes


def lookup_shapes(vocab_size: int, seq_len: int, d_model: int) -> dict:
    """``{name: shape}`` of PositionLookup's parameters (its ``__init__`` is given in the notebook)."""
    shapes = {"token_emb.weight": (vocab_size, d_model), "pos_emb.weight": (seq_len, d_model),
              "ask_emb.weight": (seq_len, d_model)}
    shapes.update(mha_shapes(d_model, "attn."))
    shapes.update({"head.weight": (vocab_size, d_model), "head.bias": (vocab_size,)})
    return shapes


def reference_mha(state: dict, d_model: int, num_heads: int, query, key, value, attn_mask=None, key_padding_mask=None,
                  prefix: str = "", dtype=np.float32):
    """The library's MultiHeadAttention with the weights of ``state`` (keys under ``prefix``):
    ``(output (N, L, E), per-head weights (N, h, L, S))`` as NumPy arrays."""
    lib = Library(d_model, num_heads)
    lib.to(dtype=dtype)
    lib.load_state_dict({name: state[prefix + name] for name in mha_shapes(d_model)})
    as_t = lambda a: Tensor(np.asarray(a, dtype=dtype), dtype=dtype)  # noqa: E731
    out, w = lib(as_t(query), as_t(key), as_t(value), attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                 average_attn_weights=False)
    return out.numpy(), w.numpy()


def reference_lookup(state, X, vocab_size, seq_len, d_model, num_heads, dtype=np.float32):
    """Logits (N, vocab) and weights (N, h, 1, T) of the position-lookup model with ``state``."""
    X = np.asarray(X)
    tokens, where = X[:, :-1], X[:, -1]  # (N, T), (N,)
    memory = state["token_emb.weight"][tokens] + state["pos_emb.weight"][None, :seq_len]  # (N, T, E)
    query = state["ask_emb.weight"][where][:, None, :]  # (N, 1, E)
    out, w = reference_mha(state, d_model, num_heads, query, memory, memory, prefix="attn.", dtype=dtype)  # (N, 1, E)
    logits = out[:, 0] @ state["head.weight"].T + state["head.bias"]  # (N, vocab)
    return logits, w
