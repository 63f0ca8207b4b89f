"""Reference ViT for week 6's hidden checks (instructor side, never shipped).

The visible check in ``utils/checks/week6_vit.py`` compares with goldens instead
(``python -m grader goldens``).
"""
from __future__ import annotations

import numpy as np

from utils.backend import asnumpy
from utils.checks.week6_vit import vit_state
from utils.nn import LayerNorm, Linear, Module, ModuleList, Parameter, TransformerEncoderLayer
from utils.tensor import Tensor, cat

__all__ = ["ReferenceViT", "grader_vit_state", "looped_patches", "patch_gradient", "vit_state"]


def looped_patches(images, patch_size: int, patch_order: str = "row", inner: str = "chw") -> np.ndarray:
    """The patches of ``images`` cut out one by one with loops (the slow, obvious way).

    Args:
        images: (N, C, H, W) array; H and W are multiples of ``patch_size``.
        patch_size: p, the side of a square patch.
        patch_order: "row" (the convention: left to right, then top to bottom) or "column".
        inner: "chw" (the convention: channel, then row, then column inside a patch) or "hwc".
    Returns:
        (N, (H // p) * (W // p), C * p * p) array.
    """
    images = np.asarray(images)
    N, C, H, W = images.shape
    p = patch_size
    rows, cols = H // p, W // p
    grid = [(r, c) for r in range(rows) for c in range(cols)]
    if patch_order == "column":
        grid = [(r, c) for c in range(cols) for r in range(rows)]
    out = np.empty((N, rows * cols, C * p * p), dtype=images.dtype)
    for n in range(N):
        for k, (r, c) in enumerate(grid):
            patch = images[n, :, r * p:(r + 1) * p, c * p:(c + 1) * p]  # (C, p, p)
            out[n, k] = (patch if inner == "chw" else patch.transpose(1, 2, 0)).reshape(-1)
    return out


def patch_gradient(image_shape, patch_size: int, upstream) -> np.ndarray:
    """The gradient that ``upstream`` (shaped like the patches) sends back to the image."""
    index = looped_patches(np.arange(int(np.prod(image_shape))).reshape(image_shape), patch_size)
    grad = np.zeros(int(np.prod(image_shape)), dtype=np.float64)
    grad[index.reshape(-1)] = np.asarray(upstream, dtype=np.float64).reshape(-1)
    return grad.reshape(image_shape)



class ReferenceViT(Module):
    """The layout the notebook asks for, used to compute expected outputs from given weights.

    Submodules and parameters: ``patch_embed.proj`` (Linear), ``cls_token`` (1, 1, D),
    ``pos_embed`` (1, n_patches + 1, D), ``layers`` (ModuleList of pre-norm GELU
    TransformerEncoderLayer without dropout), ``norm`` (LayerNorm), ``head`` (Linear).
    """

    def __init__(self, img_size, patch_size, in_channels, num_classes, d_model, num_heads, num_layers, d_ff):
        super().__init__()
        self.patch_size = patch_size
        n_patches = (img_size // patch_size) ** 2
        self.patch_embed = Module()
        self.patch_embed.proj = Linear(in_channels * patch_size * patch_size, d_model)
        self.cls_token = Parameter(np.zeros((1, 1, d_model), dtype=np.float32))
        self.pos_embed = Parameter(np.zeros((1, n_patches + 1, d_model), dtype=np.float32))
        self.layers = ModuleList([TransformerEncoderLayer(d_model, num_heads, d_ff, dropout=0.0, activation="gelu",
                                                          norm_first=True) for _ in range(num_layers)])
        self.norm = LayerNorm(d_model)
        self.head = Linear(d_model, num_classes)

    def forward(self, images, pool="cls", use_pos=True, norm_first=True, final_norm=True):
        patches = Tensor(looped_patches(asnumpy(images), self.patch_size), dtype=self.dtype)  # (N, n, C*p*p)
        tokens = self.patch_embed.proj(patches)  # (N, n, D)
        N, _, D = tokens.shape
        z = cat([self.cls_token.expand(N, 1, D), tokens], axis=1)  # (N, n + 1, D)
        if use_pos:
            z = z + self.pos_embed
        for layer in self.layers:
            layer.norm_first = norm_first
            z = layer(z)
        if final_norm:
            z = self.norm(z)
        summary = z[:, 0] if pool == "cls" else z.mean(axis=1)  # (N, D)
        return self.head(summary)  # (N, num_classes)




def grader_vit_state(model: Module, dtype=np.float64, phase: float = 0.6) -> dict:
    """Weights for ``model``'s state dict that only the grader knows: the visible checks' values
    (``vit_state``, public) scaled entry by entry by 1 + 0.4 sin(phase + 0.91 k), one set per ``phase``."""
    out = {}
    for name, value in vit_state(model, np.float64).items():
        factor = 1.0 + 0.4 * np.sin(phase + 0.91 * np.arange(value.size)).reshape(value.shape)
        out[name] = (value * factor).astype(dtype)
    return out
