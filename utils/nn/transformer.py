"""The Transformer encoder layer: self-attention and a feed-forward block, each with a
residual connection and LayerNorm (PyTorch's ``nn.TransformerEncoderLayer``).

Post-norm (the default, as in "Attention Is All You Need")::

    x = norm1(x + dropout1(self_attn(x)))
    x = norm2(x + dropout2(linear2(dropout(activation(linear1(x))))))

Pre-norm (``norm_first=True``)::

    x = x + dropout1(self_attn(norm1(x)))
    x = x + dropout2(linear2(dropout(activation(linear1(norm2(x))))))

Masks follow the course convention: boolean, True = may attend.
"""
from __future__ import annotations

from ..tensor import Tensor, gelu, relu
from .attention import MultiHeadAttention
from .dropout import Dropout
from .linear import Linear
from .module import Module
from .normalization import LayerNorm

ACTIVATIONS = {"relu": relu, "gelu": gelu}


class TransformerEncoderLayer(Module):
    """One encoder block: multi-head self-attention, then a position-wise feed-forward net.

    Args:
        d_model: E, the model width.
        nhead: number of attention heads (divides d_model).
        dim_feedforward: hidden width of the feed-forward net (default 2048).
        dropout: drop probability in attention, after each sub-block and inside the
            feed-forward net (default 0.1).
        activation: "relu" (default), "gelu", or a callable Tensor -> Tensor.
        layer_norm_eps: epsilon of both LayerNorms (default 1e-5).
        batch_first: True (the course default; PyTorch's is False) for (N, T, E) inputs,
            False for (T, N, E).
        norm_first: pre-norm instead of post-norm (default False).
        bias: learn biases in the Linear layers and LayerNorms (default True).
    Submodules (PyTorch's names):
        self_attn: MultiHeadAttention(d_model, nhead, dropout).
        linear1: Linear(d_model, dim_feedforward); dropout: Dropout(dropout);
        linear2: Linear(dim_feedforward, d_model).
        norm1, norm2: LayerNorm(d_model); dropout1, dropout2: Dropout(dropout).
    Shapes:
        src: (N, T, E) (or (T, N, E) with batch_first=False) -> the same shape.
    """

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048, dropout: float = 0.1,
                 activation="relu", layer_norm_eps: float = 1e-5, batch_first: bool = True, norm_first: bool = False,
                 bias: bool = True, device=None, dtype=None):
        super().__init__()
        if isinstance(activation, str):
            if activation not in ACTIVATIONS:
                raise ValueError(f"TransformerEncoderLayer: activation must be 'relu', 'gelu' or a callable, got {activation!r}")
            activation = ACTIVATIONS[activation]
        self.self_attn = MultiHeadAttention(d_model, nhead, dropout, bias, batch_first=batch_first, device=device, dtype=dtype)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, device=device, dtype=dtype)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, device=device, dtype=dtype)
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, device=device, dtype=dtype)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, device=device, dtype=dtype)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        self.activation = activation
        self.norm_first = norm_first
        self.batch_first = batch_first
        self.d_model = d_model

    def _sa_block(self, x: Tensor, attn_mask, key_padding_mask, is_causal: bool) -> Tensor:
        out, _ = self.self_attn(x, x, x, attn_mask=attn_mask, key_padding_mask=key_padding_mask,
                                need_weights=False, is_causal=is_causal)  # same shape as x
        return self.dropout1(out)

    def _ff_block(self, x: Tensor) -> Tensor:
        hidden = self.dropout(self.activation(self.linear1(x)))  # (..., dim_feedforward)
        return self.dropout2(self.linear2(hidden))  # (..., d_model)

    def forward(self, src, src_mask=None, src_key_padding_mask=None, is_causal: bool = False) -> Tensor:
        """Encode ``src``.

        Args:
            src: (N, T, E) (or (T, N, E) with batch_first=False).
            src_mask: boolean (T, T) or (N * nhead, T, T), True = may attend.
            src_key_padding_mask: boolean (N, T), True = real token, False = padding
                (the opposite of PyTorch's polarity; see ``MultiHeadAttention``).
            is_causal: apply a causal mask (each position sees itself and earlier ones).
        Returns:
            The same shape as ``src``.
        """
        x = self._input(src)
        if x.ndim != 3 or x.shape[-1] != self.d_model:
            layout = "(N, T, E)" if self.batch_first else "(T, N, E)"
            raise ValueError(f"TransformerEncoderLayer: expected src of shape {layout} with E={self.d_model}, got {x.shape}")
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            x = x + self._ff_block(self.norm2(x))
        else:
            x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal))
            x = self.norm2(x + self._ff_block(x))
        return x

    def extra_repr(self) -> str:
        return f"norm_first={self.norm_first}, batch_first={self.batch_first}"
