"""Functional references for week 2's hidden checks (instructor side, never shipped).

What ``ResidualBlock`` and ``SimpleResNet`` compute with ``fill_by_shape`` parameters. The
visible checks in ``utils/checks/week2_resnet.py`` compare with goldens instead
(``python -m grader goldens``).
"""
from __future__ import annotations

from utils.checks.week2_resnet import running_stats, shape_values
from utils.nn.conv import conv2d
from utils.nn.normalization import batch_norm
from utils.tensor import Tensor

__all__ = ["reference_block", "reference_resnet"]


def _t(shape, dtype):
    return Tensor(shape_values(shape, dtype), dtype=dtype)


def _bn(h: Tensor, training: bool) -> Tensor:
    """Batch norm with ``shape_values`` weight and bias (and ``running_stats`` in evaluation)."""
    c, dt = h.shape[1], h.dtype
    rm, rv = (None, None) if training else (Tensor(a, dtype=dt) for a in running_stats(c, dt))
    return batch_norm(h, rm, rv, _t((c,), dt), _t((c,), dt), training=training)


def reference_block(x: Tensor, in_channels: int, out_channels: int, stride: int = 1, shortcut: bool = True,
                    relu_before_add: bool = False, training: bool = True) -> Tensor:
    """What ``ResidualBlock`` computes with ``fill_by_shape`` parameters (and ``running_stats``).

    x: (N, C_in, H, W) -> (N, C_out, H', W') with H' = floor((H - 1) / stride) + 1.
    """
    dt = x.dtype
    c = out_channels

    def bn(h):
        return _bn(h, training)

    out = bn(conv2d(x, _t((c, in_channels, 3, 3), dt), stride=stride, padding=1)).relu()  # (N, C_out, H', W')
    out = bn(conv2d(out, _t((c, c, 3, 3), dt), padding=1))  # (N, C_out, H', W')
    if not shortcut:
        return out.relu()
    if stride != 1 or in_channels != out_channels:
        skip = bn(conv2d(x, _t((c, in_channels, 1, 1), dt), stride=stride))  # (N, C_out, H', W')
    else:
        skip = x
    return out.relu() + skip if relu_before_add else (out + skip).relu()


def reference_resnet(x: Tensor, num_classes: int = 10, pool: str = "mean", training: bool = True) -> Tensor:
    """What ``SimpleResNet`` computes with ``fill_by_shape`` parameters (and ``running_stats``).

    x: (N, 1, H, W) -> logits (N, num_classes).
    """
    dt = x.dtype
    h = _bn(conv2d(x, _t((64, 1, 3, 3), dt), padding=1), training).relu()  # (N, 64, H, W)
    h = reference_block(h, 64, 64, training=training)  # (N, 64, H, W)
    h = reference_block(h, 64, 128, stride=2, training=training)  # (N, 128, H/2, W/2)
    h = reference_block(h, 128, 256, stride=2, training=training)  # (N, 256, H/4, W/4)
    feats = h.mean(axis=(2, 3)) if pool == "mean" else h.max(axis=(2, 3))  # (N, 256)
    return feats @ _t((num_classes, 256), dt).transpose(0, 1) + _t((num_classes,), dt)  # (N, num_classes)
