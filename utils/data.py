"""Deterministic data for the course: real digits, synthetic generators, a batch loader.

Nothing here downloads. Every generator takes a ``seed`` and returns the same arrays
for the same arguments. Generators return NumPy arrays; ``DataLoader`` turns them
into ``Tensor`` batches, placed and typed by the rules in ``utils.tensor`` (NumPy data:
the default device, float32 / int64).
"""
from __future__ import annotations

import math

import numpy as np

from .backend import asnumpy, get_array_module
from .tensor import Tensor

SHAPES = ("square", "circle", "cross", "stripes", "triangle", "ring", "diamond", "saltire", "frame", "checker")


# ---------------------------------------------------------------------- real data
def _bilinear_matrix(size_in: int, size_out: int) -> np.ndarray:
    """Weights ``A`` (size_out, size_in) so that ``A @ row`` resamples a row bilinearly.

    Pixel centres are aligned as in ``torch.nn.functional.interpolate(align_corners=False)``.
    """
    centres = (np.arange(size_out) + 0.5) * size_in / size_out - 0.5  # (size_out,)
    centres = np.clip(centres, 0, size_in - 1)
    left = np.floor(centres).astype(int)  # (size_out,)
    right = np.minimum(left + 1, size_in - 1)
    frac = centres - left
    A = np.zeros((size_out, size_in))
    np.add.at(A, (np.arange(size_out), left), 1 - frac)
    np.add.at(A, (np.arange(size_out), right), frac)
    return A


def load_digits(image_size: int = 8, normalize: bool = True):
    """scikit-learn's bundled handwritten digits (no download).

    Args:
        image_size: side S of the returned images; 8 is the original resolution, any
            other value resamples bilinearly (e.g. 32 for an AlexNet-style network).
        normalize: divide the 0..16 intensities by 16 so pixels lie in [0, 1].

    Returns:
        X: (1797, 1, S, S) float32, in [0, 1] when ``normalize`` (else in [0, 16]).
        y: (1797,) int64 class labels 0..9.
    """
    from sklearn.datasets import load_digits as _sk_load_digits

    if int(image_size) != image_size or image_size < 1:
        raise ValueError(f"image_size must be a positive integer, got {image_size!r}")
    bunch = _sk_load_digits()
    X = bunch.images.astype(np.float64)  # (1797, 8, 8)
    if normalize:
        X = X / 16.0
    if image_size != 8:
        A = _bilinear_matrix(8, int(image_size))  # (S, 8)
        X = A @ X @ A.T  # (1797, S, S)
    X = X[:, None].astype(np.float32)  # (1797, 1, S, S)
    y = bunch.target.astype(np.int64)  # (1797,)
    return X, y


def train_test_split(X, y, test_size: float = 0.2, seed: int = 0, stratify: bool = True):
    """Split samples into a training and a test part, deterministically from ``seed``.

    Args:
        X: (N, ...) samples (array or Tensor).
        y: (N,) labels or targets.
        test_size: fraction of samples in the test part, in (0, 1).
        seed: seed of the shuffle.
        stratify: keep each class's share the same in both parts (``y`` must hold class
            labels); each class contributes ``round(test_size * n_class)`` test samples.

    Returns:
        X_train (N - M, ...), X_test (M, ...), y_train (N - M,), y_test (M,), NumPy arrays,
        each part in shuffled order.
    """
    X, y = asnumpy(X), asnumpy(y)
    if len(X) != len(y):
        raise ValueError(f"X and y must have the same number of samples, got {len(X)} and {len(y)}")
    if not 0 < test_size < 1:
        raise ValueError(f"test_size must be a fraction in (0, 1), got {test_size!r}")
    rng = np.random.default_rng(seed)
    n = len(y)
    if stratify:
        test_parts = []
        for label in np.unique(y):
            members = rng.permutation(np.flatnonzero(y == label))  # (n_class,)
            test_parts.append(members[: int(round(test_size * len(members)))])
        test_idx = np.concatenate(test_parts)
    else:
        test_idx = rng.permutation(n)[: int(round(test_size * n))]
    if len(test_idx) == 0 or len(test_idx) == n:
        raise ValueError(f"test_size={test_size} leaves an empty part for {n} samples")
    is_test = np.zeros(n, dtype=bool)
    is_test[test_idx] = True
    train_idx = rng.permutation(np.flatnonzero(~is_test))  # (N - M,)
    test_idx = rng.permutation(np.flatnonzero(is_test))  # (M,)
    return X[train_idx], X[test_idx], y[train_idx], y[test_idx]


# ---------------------------------------------------------------------- synthetic images
def _shape_mask(shape: str, rows, cols, cy: float, cx: float, r: float, rng) -> np.ndarray:
    """Boolean (H, W) mask of one shape centred at (cy, cx) with half-size ``r``."""
    dy, dx = rows - cy, cols - cx  # (H, 1), (1, W)
    if shape == "square":
        return (np.abs(dy) <= r) & (np.abs(dx) <= r)
    if shape == "circle":
        return dy**2 + dx**2 <= r**2
    if shape == "cross":
        arm = max(r / 3.0, 0.6)
        inside = (np.abs(dy) <= r) & (np.abs(dx) <= r)
        return inside & ((np.abs(dy) <= arm) | (np.abs(dx) <= arm))
    if shape == "stripes":
        period = max(2, int(round(r / 1.5)))
        inside = (np.abs(dy) <= r) & (np.abs(dx) <= r)
        horizontal = rng.random() < 0.5
        band = np.floor((dy if horizontal else dx) + r) % (2 * period) < period
        return inside & band
    if shape == "triangle":  # apex up, base at the bottom
        height = (dy + r) / (2 * r)  # 0 at the apex, 1 at the base
        return (np.abs(dy) <= r) & (np.abs(dx) <= r * height)
    if shape == "ring":  # a circle with a hole
        dist2 = dy**2 + dx**2
        return (dist2 <= r**2) & (dist2 >= (0.55 * r) ** 2)
    if shape == "diamond":
        return np.abs(dy) + np.abs(dx) <= r
    if shape == "saltire":  # a diagonal cross, X
        arm = max(r / 3.0, 0.6)
        inside = (np.abs(dy) <= r) & (np.abs(dx) <= r)
        return inside & ((np.abs(dy - dx) <= arm) | (np.abs(dy + dx) <= arm))
    if shape == "frame":  # a hollow square
        outer = (np.abs(dy) <= r) & (np.abs(dx) <= r)
        return outer & ~((np.abs(dy) < 0.55 * r) & (np.abs(dx) < 0.55 * r))
    if shape == "checker":  # a 2x2-or-finer checkerboard
        period = max(1.0, r / 2.0)
        inside = (np.abs(dy) <= r) & (np.abs(dx) <= r)
        return inside & ((np.floor((dy + r) / period) + np.floor((dx + r) / period)) % 2 == 0)
    raise ValueError(f"unknown shape {shape!r}; expected one of {SHAPES}")


def _alias(name: str, value, alias: str, alias_value):
    """``value``, or ``alias_value`` when the caller used the other name; both at once must agree."""
    if alias_value is None:
        return value
    if value is not None and value != alias_value:
        raise ValueError(f"{name}={value!r} and {alias}={alias_value!r} name the same setting; pass one of them")
    return alias_value


def generate_image_data(n_samples: int = 1000, image_size: int = None, n_classes: int = 4,
                        channels: int = None, noise: float = 0.1, seed: int = 0, *,
                        img_size: int = None, n_channels: int = None):
    """Synthetic images of simple shapes, one class per shape.

    Class k draws ``SHAPES[k]`` (square, circle, cross, stripes, triangle, ring, diamond,
    saltire, frame, checker) at a random position and size (half-size between S/8 and
    S/4) with a random brightness per channel, over a dark background, then adds
    Gaussian noise of std ``noise`` and clips to [0, 1]. Classes are balanced (sample i
    has class i mod n_classes before shuffling).

    Args:
        n_samples: N, images to draw.
        image_size: S, the side in pixels (default 32); ``img_size`` is the same setting.
        n_classes: classes (shapes), 1 to 10.
        channels: C (default 1); ``n_channels`` is the same setting.
        noise: std of the added Gaussian noise.
        seed: the same seed gives the same images.

    Returns:
        X: (n_samples, C, S, S) float32 in [0, 1].
        y: (n_samples,) int64 in [0, n_classes).
    """
    image_size = _alias("image_size", image_size, "img_size", img_size)
    channels = _alias("channels", channels, "n_channels", n_channels)
    image_size = 32 if image_size is None else image_size
    channels = 1 if channels is None else channels
    if not 1 <= n_classes <= len(SHAPES):
        raise ValueError(f"n_classes must be between 1 and {len(SHAPES)} (one shape per class: {SHAPES}), got {n_classes}")
    if image_size < 8:
        raise ValueError(f"image_size must be at least 8 pixels to draw shapes, got {image_size}")
    rng = np.random.default_rng(seed)
    S = int(image_size)
    y = rng.permutation(np.arange(n_samples) % n_classes).astype(np.int64)  # (N,)
    rows = np.arange(S, dtype=np.float64)[:, None]  # (S, 1)
    cols = np.arange(S, dtype=np.float64)[None, :]  # (1, S)
    X = np.zeros((n_samples, channels, S, S), dtype=np.float64)
    for i, label in enumerate(y):
        r = rng.uniform(S / 8, S / 4)
        cy, cx = rng.uniform(r, S - 1 - r, size=2)
        mask = _shape_mask(SHAPES[label], rows, cols, cy, cx, r, rng)  # (S, S)
        brightness = rng.uniform(0.6, 1.0, size=(channels, 1, 1))  # (C, 1, 1)
        X[i] = brightness * mask  # (C, S, S)
    X += noise * rng.standard_normal(X.shape)
    return np.clip(X, 0.0, 1.0).astype(np.float32), y


# ---------------------------------------------------------------------- synthetic series
def generate_time_series_data(n_steps: int = None, n_features: int = 1, frequencies=(1 / 50, 1 / 20, 1 / 7),
                              noise: float = 0.1, seed: int = 0, *, n_samples: int = None, seq_len: int = None):
    """A noisy sum of sines plus a slow trend: one long series, or ``(X, y)`` windows.

    Feature j at step t is ``sum_k sin(2 pi f_k t + phase_jk) / (k + 1) + trend_j * t / n_steps
    + noise * eps``, with ``f_k`` in cycles per step, random phases, a trend slope in
    [-1, 1] per feature and Gaussian ``eps``.

    Two forms:

    * ``generate_time_series_data(n_steps=1000, n_features=1)`` returns one series,
      ``(n_steps, n_features)`` float32.
    * ``generate_time_series_data(n_samples=200, seq_len=50, n_features=1)`` (either of
      ``n_samples``, ``seq_len`` selects it) returns windows ready for a sequence model:
      ``X`` (n_samples, seq_len, n_features) and ``y`` (n_samples, n_features), the value
      right after each window, both float32. Every sample is its own series of
      ``seq_len + 1`` steps (own phases and trend; same formula with ``n_steps = seq_len + 1``),
      so a ``train_test_split`` of the windows shares no values. Defaults: 1000 samples of 50 steps.
    """
    if n_samples is not None or seq_len is not None:
        if n_steps is not None:
            raise ValueError("pass either n_steps (one series) or n_samples/seq_len (windows), not both")
        return _series_windows(1000 if n_samples is None else n_samples, 50 if seq_len is None else seq_len,
                               n_features, frequencies, noise, seed)
    n_steps = 1000 if n_steps is None else n_steps
    if n_steps < 1 or n_features < 1:
        raise ValueError(f"n_steps and n_features must be positive, got {n_steps} and {n_features}")
    rng = np.random.default_rng(seed)
    freqs = np.asarray(frequencies, dtype=np.float64)  # (K,)
    t = np.arange(n_steps, dtype=np.float64)[:, None, None]  # (T, 1, 1)
    phases = rng.uniform(0, 2 * np.pi, size=(n_features, len(freqs)))  # (F, K)
    amplitudes = 1.0 / (np.arange(len(freqs)) + 1.0)  # (K,)
    waves = amplitudes * np.sin(2 * np.pi * freqs * t + phases)  # (T, F, K)
    slope = rng.uniform(-1, 1, size=n_features)  # (F,)
    trend = slope * t[:, :, 0] / n_steps  # (T, F)
    series = waves.sum(axis=2) + trend + noise * rng.standard_normal((n_steps, n_features))  # (T, F)
    return series.astype(np.float32)


def _series_windows(n_samples: int, seq_len: int, n_features: int, frequencies, noise: float, seed: int):
    """``(X (N, T, F), y (N, F))``: N independent series of T + 1 steps, split into window and next value."""
    if n_samples < 1 or seq_len < 1 or n_features < 1:
        raise ValueError(f"n_samples, seq_len and n_features must be positive, got {n_samples}, {seq_len} and {n_features}")
    rng = np.random.default_rng(seed)
    freqs = np.asarray(frequencies, dtype=np.float64)  # (K,)
    steps = seq_len + 1
    t = np.arange(steps, dtype=np.float64)[None, :, None, None]  # (1, T+1, 1, 1)
    phases = rng.uniform(0, 2 * np.pi, size=(n_samples, 1, n_features, len(freqs)))  # (N, 1, F, K)
    amplitudes = 1.0 / (np.arange(len(freqs)) + 1.0)  # (K,)
    waves = (amplitudes * np.sin(2 * np.pi * freqs * t + phases)).sum(axis=3)  # (N, T+1, F)
    slope = rng.uniform(-1, 1, size=(n_samples, 1, n_features))  # (N, 1, F)
    trend = slope * t[..., 0] / steps  # (N, T+1, F)
    series = waves + trend + noise * rng.standard_normal((n_samples, steps, n_features))  # (N, T+1, F)
    series = series.astype(np.float32)
    return series[:, :seq_len], series[:, seq_len]  # (N, T, F), (N, F)


# ---------------------------------------------------------------------- synthetic sequences
def generate_sequence_classification_data(n_samples: int = 1000, seq_len: int = 20, vocab_size: int = 10, seed: int = 0):
    """A toy token task: is the sequence mostly made of "high" tokens?

    Rule: tokens ``0 .. vocab_size//2 - 1`` are *low*, the others are *high*; the label is
    1 when a sequence holds strictly more high tokens than low ones, else 0. Labels are
    balanced, and the number of high tokens is drawn from Binomial(seq_len, 1/2)
    restricted to the label's side, so many sequences sit near the boundary and the
    model must count over the whole sequence.

    Returns:
        tokens: (n_samples, seq_len) int64 in [0, vocab_size).
        labels: (n_samples,) int64 in {0, 1}.
    """
    if vocab_size < 2:
        raise ValueError(f"vocab_size must be at least 2 (low and high tokens), got {vocab_size}")
    if seq_len < 1:
        raise ValueError(f"seq_len must be positive, got {seq_len}")
    rng = np.random.default_rng(seed)
    half = vocab_size // 2
    labels = rng.permutation(np.arange(n_samples) % 2).astype(np.int64)  # (N,)
    n_high = rng.binomial(seq_len, 0.5, size=n_samples)  # (N,)
    for _ in range(1000):  # redraw counts that fall on the wrong side of the rule
        wrong = (n_high > seq_len - n_high) != labels.astype(bool)
        if not wrong.any():
            break
        n_high[wrong] = rng.binomial(seq_len, 0.5, size=int(wrong.sum()))
    else:  # each redraw lands on the right side with probability above 1/3: practically unreachable
        raise RuntimeError("could not draw sequences for the requested labels")
    ranks = np.argsort(rng.random((n_samples, seq_len)), axis=1)  # (N, T) a random permutation per row
    is_high = ranks < n_high[:, None]  # (N, T) exactly n_high True per row
    low = rng.integers(0, half, size=(n_samples, seq_len))  # (N, T)
    high = rng.integers(half, vocab_size, size=(n_samples, seq_len))  # (N, T)
    tokens = np.where(is_high, high, low).astype(np.int64)  # (N, T)
    return tokens, labels


# ---------------------------------------------------------------------- batching
class DataLoader:
    """Iterate over ``(xb, yb)`` mini-batches as Tensors on the default device.

    Args:
        X: (N, ...) samples (NumPy/CuPy array or Tensor).
        y: (N, ...) targets, or None (then ``yb`` is None).
        batch_size: samples per batch; the last batch may be smaller unless ``drop_last``.
        shuffle: visit samples in a new order each epoch. The order of epoch e depends
            only on ``(seed, e)``, so two loaders with the same seed agree.
        seed: seed of the shuffles.
        drop_last: skip a final batch smaller than ``batch_size``.

    Each batch is made as ``Tensor(X[idx])`` would be (the rules in ``utils.tensor``): from
    NumPy data, on the default device, float32 for float data, int64 for integer data;
    from a Tensor or CuPy array, on its own device (and a Tensor's own dtype). ``yb``
    likewise. ``len(loader)`` is the number of batches per epoch.
    """

    def __init__(self, X, y=None, batch_size: int = 32, shuffle: bool = False, seed: int = 0, drop_last: bool = False):
        self._kinds = tuple((t.dtype, t.device) if isinstance(t, Tensor) else (None, None) for t in (X, y))
        X = X.data if isinstance(X, Tensor) else X
        y = y.data if isinstance(y, Tensor) else y
        X = X if hasattr(X, "shape") else np.asarray(X)
        y = y if y is None or hasattr(y, "shape") else np.asarray(y)
        if X.ndim == 0:
            raise ValueError("X must have a leading sample axis, got a scalar")
        if y is not None and len(y) != len(X):
            raise ValueError(f"X and y must have the same number of samples, got {len(X)} and {len(y)}")
        if int(batch_size) != batch_size or batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
        self.X, self.y = X, y
        self.batch_size = int(batch_size)
        self.shuffle = bool(shuffle)
        self.seed = seed
        self.drop_last = bool(drop_last)
        self.epoch = 0  # counts completed or started passes; drives the shuffle

    @property
    def n_samples(self) -> int:
        return len(self.X)

    def __len__(self) -> int:
        if self.drop_last:
            return self.n_samples // self.batch_size
        return math.ceil(self.n_samples / self.batch_size)

    def _order(self, epoch: int) -> np.ndarray:
        """Sample indices (N,) for one epoch."""
        if not self.shuffle:
            return np.arange(self.n_samples)
        return np.random.default_rng([self.seed, epoch]).permutation(self.n_samples)

    @staticmethod
    def _batch(array, idx, kind) -> Tensor:
        xp = get_array_module(array)
        part = array[xp.asarray(idx)] if xp is not np else array[idx]  # (B, ...)
        dtype, device = kind
        return Tensor(part, dtype=dtype, device=device)

    def __iter__(self):
        order = self._order(self.epoch)
        self.epoch += 1
        for b in range(len(self)):
            idx = order[b * self.batch_size:(b + 1) * self.batch_size]  # (B,)
            xb = self._batch(self.X, idx, self._kinds[0])
            yb = None if self.y is None else self._batch(self.y, idx, self._kinds[1])
            yield xb, yb

    def __repr__(self) -> str:
        return (f"DataLoader(n_samples={self.n_samples}, batch_size={self.batch_size}, "
                f"shuffle={self.shuffle}, drop_last={self.drop_last}, batches={len(self)})")
