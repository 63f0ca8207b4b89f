"""The few calls that differ between ``utils`` and PyTorch, behind one small object.

The course models in ``course_cases`` are written once against a ``Kit``: ``kit.nn`` is
``utils.nn`` or ``torch.nn``, and the handful of differences (attention mask polarity,
the attention module's class, how a constant or an integer batch is made, the optimizer)
live here. Parameters are copied from the utils model to the torch model by name; the
only renaming is PyTorch's packed attention input projection (``in_proj_weight``/
``in_proj_bias`` = q, k, v stacked), done by ``torch_names``.
"""
from __future__ import annotations

import numpy as np


def torch_names(params: dict) -> dict:
    """utils parameter names -> PyTorch's, packing ``*.q_proj/k_proj/v_proj.{weight,bias}`` into ``*.in_proj_*``."""
    out, packed = {}, {}
    for name, value in params.items():
        head, _, leaf = name.rpartition(".")
        parent, _, proj = head.rpartition(".")
        if proj in ("q_proj", "k_proj", "v_proj"):
            key = f"{parent}.in_proj_{leaf}" if parent else f"in_proj_{leaf}"
            packed.setdefault(key, {})[proj] = value
        else:
            out[name] = value
    for key, parts in packed.items():
        out[key] = np.concatenate([parts["q_proj"], parts["k_proj"], parts["v_proj"]])
    return out


class UtilsKit:
    """``utils`` on the default device (NumPy, or CuPy after ``utils.set_default_device``)."""

    side = "utils"

    def __init__(self):
        import utils
        from utils import nn

        self.utils, self.nn = utils, nn
        self.cat, self.gelu = utils.cat, utils.gelu

    def mha(self, embed_dim: int, heads: int):
        return self.nn.MultiHeadAttention(embed_dim, heads, batch_first=True)

    @staticmethod
    def attend(module, query, key, keep=None, allow=None, need_weights=False):
        """Attention with course-polarity masks: ``keep`` (N, S) True = real token, ``allow`` (L, S) True = may attend."""
        return module(query, key, key, attn_mask=allow, key_padding_mask=keep, need_weights=need_weights)[0]

    def parameter(self, array):
        from utils.backend import default_device

        return self.nn.Parameter(np.asarray(array, dtype=np.float32), device=default_device())

    def data(self, array):
        """A batch of inputs or targets (floats or integers) as a Tensor on the default device."""
        from utils.backend import default_device

        return self.utils.Tensor(array, device=default_device())

    def leaf(self, array):
        """A float input that collects a gradient."""
        from utils.backend import default_device

        return self.utils.Tensor(array, requires_grad=True, device=default_device())

    def const(self, array):
        return self.utils.Tensor(array)

    def adam(self, params, lr):
        return self.utils.Adam(params, lr=lr)

    def cross_entropy(self, logits, target, reduction="mean"):
        return self.utils.cross_entropy(logits, target, reduction=reduction)

    def mse(self, pred, target):
        return self.utils.mse_loss(pred, target)

    def clip(self, params, max_norm):
        self.utils.clip_grad_norm_(params, max_norm)

    def load(self, model, params: dict) -> None:
        for name, p in model.named_parameters():
            p.data[...] = p.xp.asarray(params[name])

    def params(self, model, grads: bool = False) -> dict:
        """PyTorch-named parameters (or their gradients) as NumPy arrays."""
        from utils import asnumpy

        return torch_names({n: asnumpy(p.grad if grads else p.data) for n, p in model.named_parameters()})

    @staticmethod
    def numpy(t):
        from utils import asnumpy

        return asnumpy(t.data if hasattr(t, "data") else t)


class TorchKit:
    """PyTorch on ``device`` ("cpu" or "cuda")."""

    side = "torch"

    def __init__(self, device: str = None):
        import os

        import torch

        device = device or os.environ.get("BENCH_DEVICE", "cpu")

        self.torch, self.nn, self.device = torch, torch.nn, torch.device(device)
        self.cat, self.gelu = torch.cat, torch.nn.functional.gelu

    def mha(self, embed_dim: int, heads: int):
        return self.nn.MultiheadAttention(embed_dim, heads, batch_first=True, device=self.device)

    def attend(self, module, query, key, keep=None, allow=None, need_weights=False):
        # PyTorch's boolean masks mean the opposite: True = may NOT attend.
        kpm = None if keep is None else ~keep
        mask = None if allow is None else ~allow
        return module(query, key, key, attn_mask=mask, key_padding_mask=kpm, need_weights=need_weights)[0]

    def parameter(self, array):
        return self.nn.Parameter(self.torch.from_numpy(np.array(array, dtype=np.float32)).to(self.device))

    def data(self, array):
        return self.torch.from_numpy(np.ascontiguousarray(array)).to(self.device)

    def const(self, array):
        return self.torch.from_numpy(np.asarray(array, dtype=np.float32)).to(self.device)

    def leaf(self, array):
        return self.torch.from_numpy(np.array(array)).to(self.device).requires_grad_()

    def adam(self, params, lr):
        return self.torch.optim.Adam(params, lr=lr)

    def cross_entropy(self, logits, target, reduction="mean"):
        return self.nn.functional.cross_entropy(logits, target, reduction=reduction)

    def mse(self, pred, target):
        return self.nn.functional.mse_loss(pred, target)

    def clip(self, params, max_norm):
        self.nn.utils.clip_grad_norm_(params, max_norm)

    def load(self, model, params: dict) -> None:
        named = torch_names(params)
        model.to(self.device)
        with self.torch.no_grad():
            for name, p in model.named_parameters():
                p.copy_(self.torch.from_numpy(named[name]))

    def params(self, model, grads: bool = False) -> dict:
        return {n: (p.grad if grads else p).detach().cpu().numpy() for n, p in model.named_parameters()}

    @staticmethod
    def numpy(t):
        return t.detach().cpu().numpy()
