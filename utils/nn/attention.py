"""Scaled dot-product attention and ``MultiHeadAttention``.

THE COURSE MASK CONVENTION (one convention everywhere, for ``attn_mask`` and
``key_padding_mask`` alike): masks are boolean and **True means "may attend"**, as in
``torch.nn.functional.scaled_dot_product_attention``. A float (additive) mask is
refused. A query row whose keys are all masked gets zero weights and a zero output
(no NaN, and zero gradients).
"""
from __future__ import annotations

import math

import numpy as np

from ..tensor import Tensor, as_tensor
from .dropout import dropout as _dropout
from .linear import Linear
from .module import Module

MASK_CONVENTION = "boolean, True = may attend (as torch.nn.functional.scaled_dot_product_attention)"


def _bool_mask(mask, name: str, xp):
    """``mask`` as a boolean backend array; a float/integer mask raises with the convention."""
    m = mask.data if isinstance(mask, Tensor) else xp.asarray(mask)
    if m.dtype != bool:
        raise TypeError(
            f"{name} must be a boolean mask ({MASK_CONVENTION}), got dtype {m.dtype}. "
            f"Additive float masks (0 / -inf) are not used in this course; pass e.g. `scores_allowed > 0` or `~padding`."
        )
    return m


def masked_softmax(scores: Tensor, mask=None) -> Tensor:
    """Softmax over the last axis restricted to entries where ``mask`` is True.

    Args:
        scores: (..., L, S).
        mask: boolean array broadcastable to (..., L, S), True = keep; or None.
    Returns:
        (..., L, S) weights: masked entries are exactly 0, every row with at least one
        allowed entry sums to 1, and a fully masked row is all zeros (no NaN).
    """
    xp = scores.xp
    s = scores.data
    if mask is None:
        return scores.softmax(axis=-1)
    mask = xp.broadcast_to(mask, s.shape)  # (..., L, S)
    row_max = xp.where(mask, s, -xp.inf).max(axis=-1, keepdims=True)  # (..., L, 1)
    row_max = xp.where(xp.isfinite(row_max), row_max, 0.0)
    e = xp.where(mask, xp.exp(xp.where(mask, s - row_max, 0.0)), 0.0)  # (..., L, S)
    denom = e.sum(axis=-1, keepdims=True)  # (..., L, 1)
    out = (e / xp.where(denom > 0, denom, 1.0)).astype(s.dtype, copy=False)

    def backward(g):
        return (out * (g - (g * out).sum(axis=-1, keepdims=True)),)

    return Tensor._make(out, (scores,), backward, "masked_softmax")


def causal_mask(L: int, S: int, xp=np):
    """(L, S) boolean lower-triangular mask: query i may attend to keys 0..i."""
    return xp.tril(xp.ones((L, S), dtype=bool))


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p: float = 0.0, is_causal: bool = False,
                                 scale=None, *, training: bool = True):
    """``softmax(Q K^T / sqrt(E) restricted to the mask) V``, batched over leading axes.

    Args:
        query: (..., L, E).
        key: (..., S, E).
        value: (..., S, Ev).
        attn_mask: boolean, broadcastable to (..., L, S), True = may attend (the course
            convention; float masks are refused). None attends everywhere.
        dropout_p: drop probability on the attention weights (applied when ``training``).
        is_causal: also apply the (L, S) lower-triangular mask (combined with ``attn_mask``).
        scale: the factor on the scores; ``1 / sqrt(E)`` when None.
        training: keyword-only; dropout is skipped when False.
    Returns:
        output: (..., L, Ev).
        weights: (..., L, S), the weights actually used (after dropout, if any).
    """
    query, key, value = as_tensor(query), as_tensor(key), as_tensor(value)
    xp = query.xp
    if query.ndim < 2 or key.ndim < 2 or value.ndim < 2:
        raise ValueError(f"scaled_dot_product_attention: expected query (..., L, E), key (..., S, E), value (..., S, Ev); got {query.shape}, {key.shape}, {value.shape}")
    if query.shape[-1] != key.shape[-1]:
        raise ValueError(f"scaled_dot_product_attention: query (..., L, E) and key (..., S, E) need the same E; got {query.shape} and {key.shape}")
    if key.shape[-2] != value.shape[-2]:
        raise ValueError(f"scaled_dot_product_attention: key (..., S, E) and value (..., S, Ev) need the same S; got {key.shape} and {value.shape}")
    L, S, E = query.shape[-2], key.shape[-2], query.shape[-1]
    scale = 1.0 / math.sqrt(E) if scale is None else float(scale)

    scores = (query @ key.transpose(-2, -1)) * scale  # (..., L, S)
    mask = None
    if attn_mask is not None:
        mask = _bool_mask(attn_mask, "attn_mask", xp)
        try:
            full = np.broadcast_shapes(tuple(mask.shape), scores.shape)
        except ValueError:
            full = None
        if full != scores.shape:
            raise ValueError(f"attn_mask of shape {tuple(mask.shape)} does not broadcast to the scores' shape (..., L, S) = {scores.shape}")
    if is_causal:
        tri = causal_mask(L, S, xp)  # (L, S)
        mask = tri if mask is None else mask & tri
    weights = masked_softmax(scores, mask)  # (..., L, S)
    if dropout_p > 0.0 and training:
        weights = _dropout(weights, dropout_p, training=True)  # (..., L, S)
    return weights @ value, weights  # (..., L, Ev), (..., L, S)


class MultiHeadAttention(Module):
    """Multi-head attention: h heads of scaled dot-product attention in parallel.

    ``head_j = attention(x_q W_q_j, x_k W_k_j, x_v W_v_j)``, the heads are concatenated
    and mixed by ``out_proj``. All heads run at once as batched matmuls on (N, h, L, d)
    arrays, with ``d = embed_dim / num_heads``.

    Args:
        embed_dim: E, the model width (divisible by ``num_heads``).
        num_heads: h.
        dropout: drop probability on the attention weights in training mode (default 0).
        bias: learn biases in the four projections (default True).
        batch_first: keyword-only; True (the course default, unlike PyTorch's False)
            means inputs are (N, L, E); False means (L, N, E).
    Submodules:
        q_proj, k_proj, v_proj, out_proj: ``Linear(E, E)`` each. PyTorch packs the first
        three into one ``in_proj_weight`` (3E, E) / ``in_proj_bias`` (3E,), in the order
        q, k, v; we keep three Linears because they are easier to read. The q/k/v weights
        are drawn as PyTorch draws the packed matrix (Xavier-uniform over (3E, E)), the
        ``out_proj`` weight as a Linear's, and all four biases start at zero.
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True, *,
                 batch_first: bool = True, device=None, dtype=None):
        super().__init__()
        if embed_dim % num_heads != 0:
            raise ValueError(f"MultiHeadAttention: embed_dim ({embed_dim}) must be divisible by num_heads ({num_heads})")
        if not 0.0 <= dropout < 1.0:
            raise ValueError(f"MultiHeadAttention: dropout must be in [0, 1), got {dropout}")
        self.embed_dim = embed_dim
        self.num_heads = num_heads
        self.head_dim = embed_dim // num_heads
        self.dropout = float(dropout)
        self.batch_first = batch_first
        self.q_proj = Linear(embed_dim, embed_dim, bias=bias, device=device, dtype=dtype)
        self.k_proj = Linear(embed_dim, embed_dim, bias=bias, device=device, dtype=dtype)
        self.v_proj = Linear(embed_dim, embed_dim, bias=bias, device=device, dtype=dtype)
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, device=device, dtype=dtype)
        bound = math.sqrt(6.0 / (embed_dim + 3 * embed_dim))  # Xavier-uniform of the packed (3E, E) matrix
        for proj in (self.q_proj, self.k_proj, self.v_proj):
            xp = proj.weight.xp
            w = np.random.uniform(-bound, bound, size=(embed_dim, embed_dim))
            proj.weight.data = xp.asarray(w, dtype=proj.weight.dtype)
        for proj in (self.q_proj, self.k_proj, self.v_proj, self.out_proj):
            if proj.bias is not None:
                proj.bias.data[...] = 0

    def _split_heads(self, x: Tensor) -> Tensor:
        N, T, _ = x.shape
        return x.reshape(N, T, self.num_heads, self.head_dim).transpose(1, 2)  # (N, h, T, d)

    def forward(self, query, key, value, attn_mask=None, key_padding_mask=None, need_weights: bool = True,
                average_attn_weights: bool = True, is_causal: bool = False):
        """Attend from ``query`` to ``key``/``value``.

        Args (batch_first=True; with batch_first=False swap the first two axes):
            query: (N, L, E).
            key: (N, S, E).
            value: (N, S, E).
            attn_mask: boolean (L, S) or (N * num_heads, L, S), True = may attend.
            key_padding_mask: boolean (N, S), **True = a real token that may be attended**,
                False = padding. This is the OPPOSITE polarity of PyTorch's
                ``key_padding_mask`` (where True means "ignore"); we use it so that every
                mask in the course means the same thing (True = may attend). To call
                PyTorch with our mask, pass ``~key_padding_mask``.
            need_weights: return the attention weights (else None).
            average_attn_weights: average the weights over heads.
            is_causal: also apply a causal (lower-triangular) mask.
        Returns:
            output: (N, L, E).
            weights: (N, L, S) averaged over heads, (N, num_heads, L, S) when
                ``average_attn_weights=False``, or None when ``need_weights=False``.
        """
        query, key, value = self._input(query), self._input(key), self._input(value)
        layout = "(N, T, E)" if self.batch_first else "(T, N, E)"
        for name, t in (("query", query), ("key", key), ("value", value)):
            if t.ndim != 3 or t.shape[-1] != self.embed_dim:
                raise ValueError(f"MultiHeadAttention: expected {name} of shape {layout} with E={self.embed_dim}, got {t.shape}")
        if not self.batch_first:
            query, key, value = query.transpose(0, 1), key.transpose(0, 1), value.transpose(0, 1)  # (N, T, E)
        N, L, _ = query.shape
        S = key.shape[1]
        if key.shape[0] != N or value.shape[:2] != key.shape[:2]:
            raise ValueError(f"MultiHeadAttention: query, key, value need the same batch size and key/value the same length; got {query.shape}, {key.shape}, {value.shape}")
        xp = query.xp

        mask = None
        if attn_mask is not None:
            m = _bool_mask(attn_mask, "MultiHeadAttention attn_mask", xp)
            if m.shape == (L, S):
                mask = m  # (L, S)
            elif m.shape == (N * self.num_heads, L, S):
                mask = m.reshape(N, self.num_heads, L, S)  # (N, h, L, S)
            else:
                raise ValueError(f"MultiHeadAttention: attn_mask must have shape (L, S) = {(L, S)} or (N*num_heads, L, S) = {(N * self.num_heads, L, S)}, got {tuple(m.shape)}")
        if key_padding_mask is not None:
            kpm = _bool_mask(key_padding_mask, "MultiHeadAttention key_padding_mask", xp)
            if kpm.shape != (N, S):
                raise ValueError(f"MultiHeadAttention: key_padding_mask must have shape (N, S) = {(N, S)}, got {tuple(kpm.shape)}")
            kpm = kpm[:, None, None, :]  # (N, 1, 1, S)
            mask = kpm if mask is None else mask & kpm

        q = self._split_heads(self.q_proj(query))  # (N, h, L, d)
        k = self._split_heads(self.k_proj(key))  # (N, h, S, d)
        v = self._split_heads(self.v_proj(value))  # (N, h, S, d)
        heads, weights = scaled_dot_product_attention(q, k, v, attn_mask=mask, dropout_p=self.dropout,
                                                      is_causal=is_causal, training=self.training)  # (N, h, L, d), (N, h, L, S)
        out = self.out_proj(heads.transpose(1, 2).reshape(N, L, self.embed_dim))  # (N, L, E)
        if not self.batch_first:
            out = out.transpose(0, 1)  # (L, N, E)
        if not need_weights:
            return out, None
        if average_attn_weights:
            weights = weights.mean(axis=1)  # (N, L, S)
        return out, weights

    def extra_repr(self) -> str:
        return f"embed_dim={self.embed_dim}, num_heads={self.num_heads}, dropout={self.dropout}, batch_first={self.batch_first}"
