"""Functional references for week 2's hidden checks (instructor side, never shipped).

What ``ResidualBlock`` and ``SimpleResNet`` compute with ``helpers.weight_values`` parameters
(one weight set per ``phase``). The
visible checks in ``utils/checks/week2_resnet.py`` compare with goldens instead
(``python -m grader goldens``).
"""
from __future__ import annotations

from grader.checks.week2_resnet.helpers import weight_values
from utils.checks.week2_resnet import running_stats
from utils.nn.conv import conv2d
from utils.nn.normalization import batch_norm
from utils.tensor import Tensor

__all__ = ["reference_block", "reference_resnet"]


def _t(shape, dtype, phase):
    return Tensor(weight_values(shape, phase, dtype), dtype=dtype)


def _bn(h: Tensor, training: bool, phase: float) -> Tensor:
    """Batch norm with ``weight_values`` weight and bias (and ``running_stats`` in evaluation)."""
    c, dt = h.shape[1], h.dtype
    rm, rv = (None, None) if training else (Tensor(a, dtype=dt) for a in running_stats(c, dt))
    return batch_norm(h, rm, rv, _t((c,), dt, phase), _t((c,), dt, phase), training=training)


def reference_block(x: Tensor, in_channels: int, out_channels: int, stride: int = 1, shortcut: bool = True,
                    relu_before_add: bool = False, training: bool = True, phase: float = 0.0) -> Tensor:
    """What ``ResidualBlock`` computes with ``weight_values(..., phase)`` parameters (and ``running_stats``).

    x: (N, C_in, H, W) -> (N, C_out, H', W') with H' = floor((H - 1) / stride) + 1.
    """
    dt = x.dtype
    c = out_channels

    def bn(h):
        return _bn(h, training, phase)

    out = bn(conv2d(x, _t((c, in_channels, 3, 3), dt, phase), stride=stride, padding=1)).relu()  # (N, C_out, H', W')
    out = bn(conv2d(out, _t((c, c, 3, 3), dt, phase), padding=1))  # (N, C_out, H', W')
    if not shortcut:
        return out.relu()
    if stride != 1 or in_channels != out_channels:
        skip = bn(conv2d(x, _t((c, in_channels, 1, 1), dt, phase), stride=stride))  # (N, C_out, H', W')
    else:
        skip = x
    return out.relu() + skip if relu_before_add else (out + skip).relu()


def reference_resnet(x: Tensor, num_classes: int = 10, pool: str = "mean", training: bool = True, phase: float = 0.0) -> Tensor:
    """What ``SimpleResNet`` computes with ``weight_values(..., phase)`` parameters (and ``running_stats``).

    x: (N, 1, H, W) -> logits (N, num_classes).
    """
    dt = x.dtype
    h = _bn(conv2d(x, _t((64, 1, 3, 3), dt, phase), padding=1), training, phase).relu()  # (N, 64, H, W)
    h = reference_block(h, 64, 64, training=training, phase=phase)  # (N, 64, H, W)
    h = reference_block(h, 64, 128, stride=2, training=training, phase=phase)  # (N, 128, H/2, W/2)
    h = reference_block(h, 128, 256, stride=2, training=training, phase=phase)  # (N, 256, H/4, W/4)
    feats = h.mean(axis=(2, 3)) if pool == "mean" else h.max(axis=(2, 3))  # (N, 256)
    return feats @ _t((num_classes, 256), dt, phase).transpose(0, 1) + _t((num_classes,), dt, phase)  # (N, num_classes)
