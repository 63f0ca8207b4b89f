"""Plots that teach: training curves, attention heatmaps, masks, images, filters, series.

Every function accepts Tensors or arrays (NumPy or CuPy) and returns the matplotlib
``Figure``. A new figure is closed in pyplot before it is returned, so Jupyter shows
it exactly once when it is the cell's last value (elsewhere use ``display(fig)`` or
``fig.savefig``). Functions that draw one panel take an optional ``ax`` to draw into
a figure of your own; that figure is left to you.
"""
from __future__ import annotations

import math

import numpy as np

from .backend import asnumpy


def _plt():
    """pyplot, imported on first use so that ``import utils`` stays light."""
    import matplotlib.pyplot as plt

    return plt


# ---------------------------------------------------------------------- helpers
def _new_figure(nrows: int = 1, ncols: int = 1, figsize=None):
    plt = _plt()
    fig, axes = plt.subplots(nrows, ncols, figsize=figsize, squeeze=False, layout="constrained")
    plt.close(fig)  # returned to the caller; pyplot should not show it a second time
    return fig, axes


def _single_axes(ax, figsize):
    """The axes to draw into and its figure: ``ax`` itself, or a new one-panel figure."""
    if ax is not None:
        return ax.figure, ax
    fig, axes = _new_figure(1, 1, figsize=figsize)
    return fig, axes[0, 0]


def _grid(n: int, ncols: int, panel: float = 1.4, extra_width: float = 0.0):
    """A figure with ``n`` panels in rows of ``ncols``; unused panels are hidden."""
    if n < 1:
        raise ValueError("nothing to plot: got 0 panels")
    ncols = max(1, min(ncols, n))
    nrows = math.ceil(n / ncols)
    fig, axes = _new_figure(nrows, ncols, figsize=(panel * ncols + extra_width, panel * nrows + 0.3))
    flat = axes.ravel()
    for ax in flat[n:]:
        ax.remove()
    for ax in flat[:n]:
        ax.set_xticks([])
        ax.set_yticks([])
    return fig, flat[:n]


def _as_array(x, ndims, name: str) -> np.ndarray:
    """``x`` on the host as float, checked to have one of the allowed numbers of axes."""
    arr = asnumpy(x)
    if arr.ndim not in ndims:
        want = " or ".join(str(n) for n in ndims)
        raise ValueError(f"{name} must have {want} axes, got shape {arr.shape}")
    return arr


# ---------------------------------------------------------------------- training curves
def plot_history(history):
    """Loss (left) and metric (right) per epoch, training against validation.

    Args:
        history: a ``utils.training.History`` or a dict with lists ``train_loss``,
            ``val_loss``, ``train_metric``, ``val_metric`` (missing or empty lists are skipped).
    """
    data = history.as_dict() if hasattr(history, "as_dict") else dict(history)
    metric_name = getattr(history, "metric_name", "metric")
    has_metric = any(v is not None for k in ("train_metric", "val_metric") for v in data.get(k) or [])  # fit(metric=None) stores Nones
    fig, axes = _new_figure(1, 2 if has_metric else 1, figsize=(10 if has_metric else 5, 3.5))
    panels = [("loss", axes[0, 0])] + ([("metric", axes[0, 1])] if has_metric else [])
    for what, ax in panels:
        for split, style in (("train", "-o"), ("val", "--s")):
            values = [np.nan if v is None else v for v in data.get(f"{split}_{what}", [])]
            if values:
                epochs = np.arange(1, len(values) + 1)
                ax.plot(epochs, values, style, markersize=3, label=split)
        ax.set_xlabel("epoch")
        ax.set_ylabel(what if what == "loss" else metric_name)
        ax.set_title(f"{what if what == 'loss' else metric_name}: train vs validation")
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend()
    return fig


# ---------------------------------------------------------------------- attention
def _label_axes(ax, x_labels, y_labels, shape):
    L, S = shape
    if x_labels is not None:
        if len(x_labels) != S:
            raise ValueError(f"x_labels has {len(x_labels)} entries but the weights have {S} key positions")
        ax.set_xticks(range(S))
        ax.set_xticklabels([str(t) for t in x_labels], rotation=90)
    if y_labels is not None:
        if len(y_labels) != L:
            raise ValueError(f"y_labels has {len(y_labels)} entries but the weights have {L} query positions")
        ax.set_yticks(range(L))
        ax.set_yticklabels([str(t) for t in y_labels])


def plot_attention(weights, x_labels=None, y_labels=None, title=None, ax=None):
    """A heatmap of attention weights with a colorbar.

    Args:
        weights: (L, S) float, row i = how query i spreads its attention over the S keys.
        x_labels: S key tokens; y_labels: L query tokens.
    """
    w = _as_array(weights, (2,), "weights")  # (L, S)
    fig, ax = _single_axes(ax, figsize=(1 + 0.35 * w.shape[1] + 1.2, 1 + 0.35 * w.shape[0]))
    image = ax.imshow(w, cmap="viridis", vmin=0.0, vmax=max(float(w.max()), 1e-12), aspect="auto")
    _label_axes(ax, x_labels, y_labels, w.shape)
    ax.set_xlabel("key position (attended to)")
    ax.set_ylabel("query position")
    if title:
        ax.set_title(title)
    fig.colorbar(image, ax=ax, label="attention weight")
    return fig


def plot_attention_heads(weights, x_labels=None, y_labels=None, title=None, ncols=4):
    """One attention heatmap per head, on a shared colour scale.

    Args:
        weights: (h, L, S) float, one (L, S) map per head.
    """
    w = _as_array(weights, (3,), "weights")  # (h, L, S)
    h, L, S = w.shape
    fig, axes = _grid(h, ncols, panel=max(2.0, 0.3 * max(L, S)), extra_width=1.0)
    vmax = max(float(w.max()), 1e-12)
    for head, ax in enumerate(axes):
        image = ax.imshow(w[head], cmap="viridis", vmin=0.0, vmax=vmax, aspect="auto")
        _label_axes(ax, x_labels, y_labels, (L, S))
        ax.set_title(f"head {head}")
    fig.colorbar(image, ax=list(axes), label="attention weight", shrink=0.8)
    if title:
        fig.suptitle(title)
    return fig


def plot_mask(mask, x_labels=None, y_labels=None, title=None, ax=None):
    """An attention mask, True = may attend (the course's convention everywhere).

    Args:
        mask: (L, S) bool; ``mask[i, j]`` True when query i may attend to key j.
    """
    m = _as_array(mask, (2,), "mask").astype(bool)  # (L, S)
    fig, ax = _single_axes(ax, figsize=(1.5 + 0.35 * m.shape[1] + 1.8, 1 + 0.35 * m.shape[0]))
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    ax.imshow(m, cmap=ListedColormap(["#d0d0d0", "#2b83ba"]), vmin=0, vmax=1, aspect="auto")
    _label_axes(ax, x_labels, y_labels, m.shape)
    ax.set_xlabel("key position")
    ax.set_ylabel("query position")
    ax.set_title(title or "attention mask")
    ax.legend(handles=[Patch(color="#2b83ba", label="True: may attend"), Patch(color="#d0d0d0", label="False: blocked")],
              loc="upper left", bbox_to_anchor=(1.02, 1.0), frameon=False)
    return fig


# ---------------------------------------------------------------------- images
def _to_display(image: np.ndarray) -> tuple:
    """(H, W) or (C, H, W) -> an array imshow can draw and its colormap."""
    if image.ndim == 2:
        return image, "gray"
    if image.shape[0] == 1:
        return image[0], "gray"
    if image.shape[0] == 3:
        rgb = np.transpose(image, (1, 2, 0))  # (H, W, 3)
        lo, hi = rgb.min(), rgb.max()
        return (rgb - lo) / (hi - lo) if hi > lo and (lo < 0 or hi > 1) else rgb, None
    raise ValueError(f"images need 1 or 3 channels to be drawn, got {image.shape[0]} channels (shape {image.shape})")


def plot_image_grid(images, labels=None, predictions=None, ncols=8, class_names=None, title=None):
    """A grid of images with their labels; wrong predictions get a red frame and title.

    Args:
        images: (N, C, H, W) with C in {1, 3}, or (N, H, W).
        labels: (N,) true classes; predictions: (N,) predicted classes.
        class_names: names indexed by class, used in the titles.
    """
    imgs = _as_array(images, (3, 4), "images")  # (N, C, H, W) or (N, H, W)
    n = len(imgs)
    labels = None if labels is None else asnumpy(labels).reshape(-1)
    predictions = None if predictions is None else asnumpy(predictions).reshape(-1)
    for name, values in (("labels", labels), ("predictions", predictions)):
        if values is not None and len(values) != n:
            raise ValueError(f"{name} has {len(values)} entries but there are {n} images")

    def name_of(c):
        return str(class_names[int(c)]) if class_names is not None else str(int(c))

    fig, axes = _grid(n, ncols, panel=1.4)
    for i, ax in enumerate(axes):
        picture, cmap = _to_display(imgs[i])
        ax.imshow(picture, cmap=cmap)
        wrong = labels is not None and predictions is not None and labels[i] != predictions[i]
        if labels is not None and predictions is not None:
            ax.set_title(f"{name_of(predictions[i])} (true {name_of(labels[i])})" if wrong else name_of(labels[i]),
                         fontsize=8, color="red" if wrong else "black")
        elif labels is not None or predictions is not None:
            ax.set_title(name_of((labels if labels is not None else predictions)[i]), fontsize=8)
        if wrong:
            for spine in ax.spines.values():
                spine.set_edgecolor("red")
                spine.set_linewidth(2.5)
    if title:
        fig.suptitle(title)
    return fig


def plot_conv_filters(weight, ncols=8, title=None):
    """Convolution filters, one panel each, on one colour scale centred at zero.

    Args:
        weight: (out, in, kh, kw). With in = 3 each filter is drawn in colour; otherwise
            one panel per (output, input) pair would be too many, so input channel 0 is
            drawn (a first layer on grey images has in = 1).
    """
    w = _as_array(weight, (4,), "weight")  # (out, in, kh, kw)
    out_channels, in_channels = w.shape[:2]
    fig, axes = _grid(out_channels, ncols, panel=1.0)
    vmax = max(float(np.abs(w).max()), 1e-12)
    for k, ax in enumerate(axes):
        if in_channels == 3:
            rgb = np.transpose(w[k], (1, 2, 0))  # (kh, kw, 3)
            ax.imshow((rgb / vmax + 1) / 2)
        else:
            ax.imshow(w[k, 0], cmap="RdBu_r", vmin=-vmax, vmax=vmax)
        ax.set_title(str(k), fontsize=7)
    note = "" if in_channels in (1, 3) else " (input channel 0)"
    fig.suptitle((title or f"{out_channels} filters {w.shape[2]}x{w.shape[3]}") + note)
    return fig


def plot_feature_maps(maps, ncols=8, title=None):
    """The activation maps of one image, one panel per channel.

    Args:
        maps: (C, H, W) activations of one sample (take ``out[0]`` from a batch).
    """
    m = _as_array(maps, (3,), "maps")  # (C, H, W)
    fig, axes = _grid(len(m), ncols, panel=1.2)
    for c, ax in enumerate(axes):
        ax.imshow(m[c], cmap="viridis")
        ax.set_title(str(c), fontsize=7)
    fig.suptitle(title or f"{len(m)} feature maps {m.shape[1]}x{m.shape[2]}")
    return fig


# ---------------------------------------------------------------------- evaluation
def plot_confusion_matrix(y_true, y_pred, class_names=None, ax=None, title=None):
    """Counts of (true class, predicted class) pairs; the diagonal holds the correct ones.

    Args:
        y_true, y_pred: (N,) integer classes.
        class_names: K names; by default K = 1 + the largest class seen.
    """
    t = asnumpy(y_true).astype(np.int64).reshape(-1)
    p = asnumpy(y_pred).astype(np.int64).reshape(-1)
    if len(t) != len(p):
        raise ValueError(f"y_true has {len(t)} entries but y_pred has {len(p)}")
    K = len(class_names) if class_names is not None else int(max(t.max(initial=0), p.max(initial=0))) + 1
    counts = np.zeros((K, K), dtype=np.int64)  # (K, K) rows = true, columns = predicted
    np.add.at(counts, (t, p), 1)
    fig, ax = _single_axes(ax, figsize=(1.5 + 0.5 * K, 1 + 0.5 * K))
    image = ax.imshow(counts, cmap="Blues")
    names = [str(c) for c in (class_names if class_names is not None else range(K))]
    ax.set_xticks(range(K))
    ax.set_xticklabels(names, rotation=45 if class_names is not None else 0)
    ax.set_yticks(range(K))
    ax.set_yticklabels(names)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    threshold = counts.max() / 2
    for i in range(K):
        for j in range(K):
            if counts[i, j]:
                ax.text(j, i, str(counts[i, j]), ha="center", va="center", fontsize=8,
                        color="white" if counts[i, j] > threshold else "black")
    ax.set_title(title or f"confusion matrix (accuracy {np.mean(t == p):.1%})")
    fig.colorbar(image, ax=ax)
    return fig


def plot_series(series, split=None, predictions=None, prediction_steps=None, ax=None, title=None, feature_names=None):
    """A time series, where the test part starts, and predictions against the truth.

    Args:
        series: (T,) or (T, F) values.
        split: step where the test part begins (a dashed vertical line), or None.
        predictions: (P,) or (P, F) predicted values, drawn at ``prediction_steps``
            (P,), which default to ``split, split + 1, ...`` when ``split`` is given and
            to the last P steps otherwise.
    """
    s = _as_array(series, (1, 2), "series")
    s = s[:, None] if s.ndim == 1 else s  # (T, F)
    T, F = s.shape
    fig, ax = _single_axes(ax, figsize=(10, 3.5))
    names = feature_names if feature_names is not None else ([f"feature {f}" for f in range(F)] if F > 1 else ["series"])
    for f in range(F):
        ax.plot(np.arange(T), s[:, f], lw=1, label=names[f])
    if split is not None:
        ax.axvline(split, color="gray", ls="--", lw=1)
        ax.axvspan(split, T - 1, color="gray", alpha=0.08, label="test part")
    if predictions is not None:
        pred = asnumpy(predictions)
        pred = pred[:, None] if pred.ndim == 1 else pred  # (P, F)
        if pred.shape[1] != F:
            raise ValueError(f"predictions have {pred.shape[1]} features but the series has {F}")
        if prediction_steps is None:
            start = split if split is not None else T - len(pred)
            prediction_steps = np.arange(start, start + len(pred))
        steps = asnumpy(prediction_steps).reshape(-1)
        if len(steps) != len(pred):
            raise ValueError(f"prediction_steps has {len(steps)} entries but there are {len(pred)} predictions")
        for f in range(F):
            ax.plot(steps, pred[:, f], lw=1.5, color="C3", alpha=0.9, label="prediction" if f == 0 else None)
    ax.set_xlabel("step")
    ax.set_title(title or "time series")
    ax.grid(alpha=0.3)
    ax.legend(loc="upper left", fontsize=8)
    return fig
