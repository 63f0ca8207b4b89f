"""Data: shapes, dtypes, ranges, determinism, stratified splits and the batch loader."""
import numpy as np
import pytest

from utils.data import (DataLoader, generate_image_data, generate_sequence_classification_data,
                        generate_time_series_data, load_digits, train_test_split)
from utils.tensor import Tensor


def test_load_digits_shapes_dtypes_and_range():
    X, y = load_digits()
    assert X.shape == (1797, 1, 8, 8) and X.dtype == np.float32
    assert y.shape == (1797,) and y.dtype == np.int64
    assert X.min() == 0.0 and X.max() == 1.0
    assert set(np.unique(y)) == set(range(10))
    raw, _ = load_digits(normalize=False)
    assert raw.max() == 16.0


def test_load_digits_upsampled_keeps_range_and_content():
    X8, _ = load_digits()
    X32, _ = load_digits(image_size=32)
    assert X32.shape == (1797, 1, 32, 32) and X32.dtype == np.float32
    assert 0.0 <= X32.min() and X32.max() <= 1.0 + 1e-6
    # bilinear resampling preserves the mean brightness closely and each 4x4 block follows its source pixel
    np.testing.assert_allclose(X32.mean(axis=(2, 3)), X8.mean(axis=(2, 3)), atol=0.02)
    blocks = X32.reshape(1797, 1, 8, 4, 8, 4).mean(axis=(3, 5))  # (N, 1, 8, 8)
    assert np.corrcoef(blocks.ravel(), X8.ravel())[0, 1] > 0.95


def test_train_test_split_stratified_proportions_and_disjoint():
    X, y = load_digits()
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.2, seed=0)
    assert len(X_tr) + len(X_te) == 1797 and len(X_tr) == len(y_tr) and len(X_te) == len(y_te)
    assert abs(len(X_te) - 0.2 * 1797) <= 10
    counts_all, counts_te = np.bincount(y, minlength=10), np.bincount(y_te, minlength=10)
    assert np.all(np.abs(counts_te - 0.2 * counts_all) <= 0.5 + 1e-9)  # each class rounded, never skewed
    # every sample lands in exactly one part: compare flattened rows as a multiset
    rows = lambda A: sorted(map(bytes, A.reshape(len(A), -1)))
    assert rows(np.concatenate([X_tr, X_te])) == rows(X)


def test_train_test_split_is_deterministic_and_seed_dependent():
    X, y = load_digits()
    a = train_test_split(X, y, seed=3)
    b = train_test_split(X, y, seed=3)
    c = train_test_split(X, y, seed=4)
    for u, v in zip(a, b):
        np.testing.assert_array_equal(u, v)
    assert not np.array_equal(a[3], c[3])


def test_train_test_split_without_stratify_and_errors():
    X = np.arange(100, dtype=np.float32)[:, None]
    y = np.zeros(100, dtype=np.int64)
    X_tr, X_te, _, _ = train_test_split(X, y, test_size=0.3, stratify=False)
    assert len(X_te) == 30 and len(X_tr) == 70
    with pytest.raises(ValueError, match="same number of samples"):
        train_test_split(X, y[:50])
    with pytest.raises(ValueError, match="test_size"):
        train_test_split(X, y, test_size=1.5)


def test_generate_image_data_shapes_balance_and_determinism():
    X, y = generate_image_data(n_samples=60, image_size=16, n_classes=4, channels=3, noise=0.1, seed=1)
    assert X.shape == (60, 3, 16, 16) and X.dtype == np.float32
    assert y.shape == (60,) and y.dtype == np.int64
    assert 0.0 <= X.min() and X.max() <= 1.0
    np.testing.assert_array_equal(np.bincount(y), [15, 15, 15, 15])
    X2, y2 = generate_image_data(n_samples=60, image_size=16, n_classes=4, channels=3, noise=0.1, seed=1)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)
    X3, _ = generate_image_data(n_samples=60, image_size=16, n_classes=4, channels=3, noise=0.1, seed=2)
    assert not np.array_equal(X, X3)
    with pytest.raises(ValueError, match="n_classes"):
        generate_image_data(n_classes=11)  # ten shapes


def test_generate_image_data_classes_differ_without_noise():
    X, y = generate_image_data(n_samples=200, image_size=32, n_classes=4, noise=0.0, seed=0)
    # squares fill their bounding box; crosses fill a fraction of it: the mean brightness differs
    means = [X[y == k].mean() for k in range(4)]
    assert len(set(np.round(means, 4))) == 4
    assert all(X[i].max() > 0.5 for i in range(len(X)))  # every image holds a drawn shape


def test_generate_image_data_seed_keywords_and_ten_classes():
    X, y = generate_image_data(n_samples=100, img_size=28, n_channels=1, n_classes=10)
    assert X.shape == (100, 1, 28, 28) and X.dtype == np.float32 and y.dtype == np.int64
    assert np.array_equal(np.bincount(y), np.full(10, 10))  # balanced over all ten shapes
    same, _ = generate_image_data(n_samples=100, image_size=28, channels=1, n_classes=10)
    np.testing.assert_array_equal(X, same)  # the seed's names are the same settings
    assert generate_image_data(n_samples=4, img_size=16, n_channels=3)[0].shape == (4, 3, 16, 16)
    with pytest.raises(ValueError, match="same setting"):
        generate_image_data(image_size=16, img_size=28)


def test_generate_image_data_ten_classes_differ_without_noise():
    X, y = generate_image_data(n_samples=500, image_size=28, n_classes=10, noise=0.0, seed=0)
    # each shape lights a different share of its bounding box, so the classes' bright-pixel profiles differ
    profile = np.stack([np.sort(X[y == k].reshape(50, -1), axis=1)[:, -60:].mean(axis=0) for k in range(10)])
    assert len(set(np.round(profile.sum(axis=1), 2))) == 10
    assert all(X[i].max() > 0.5 for i in range(len(X)))  # every image holds a drawn shape


def test_generate_time_series_windows_as_the_seed_called_it():
    X, y = generate_time_series_data(n_samples=200, seq_len=50, n_features=1)
    assert X.shape == (200, 50, 1) and y.shape == (200, 1) and X.dtype == y.dtype == np.float32
    X2, y2 = generate_time_series_data(n_samples=200, seq_len=50, n_features=1)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(y, y2)
    assert not np.allclose(X[0], X[1])  # every window is its own series
    # y continues its window: one step on, a noise-free series stays close to the window's last value
    Xc, yc = generate_time_series_data(n_samples=50, seq_len=30, n_features=2, noise=0.0, seed=3)
    assert Xc.shape == (50, 30, 2) and yc.shape == (50, 2)
    step = np.abs(np.diff(Xc, axis=1)).max()
    assert np.abs(yc - Xc[:, -1]).max() <= step + 1e-6
    with pytest.raises(ValueError, match="not both"):
        generate_time_series_data(n_steps=100, seq_len=10)
    with pytest.raises(ValueError, match="positive"):
        generate_time_series_data(n_samples=0)


def test_generate_time_series_data():
    s = generate_time_series_data(n_steps=500, n_features=2, noise=0.1, seed=0)
    assert s.shape == (500, 2) and s.dtype == np.float32
    assert np.all(np.isfinite(s)) and s.std() > 0.3
    np.testing.assert_array_equal(s, generate_time_series_data(n_steps=500, n_features=2, noise=0.1, seed=0))
    # a single frequency without noise or trend dominance: the spectrum peaks there
    pure = generate_time_series_data(n_steps=1000, frequencies=(0.05,), noise=0.0, seed=0)[:, 0]
    spectrum = np.abs(np.fft.rfft(pure - pure.mean()))
    assert np.argmax(spectrum[5:]) + 5 == 50  # 0.05 cycles/step * 1000 steps


def test_generate_sequence_classification_data_follows_its_rule():
    tokens, labels = generate_sequence_classification_data(n_samples=400, seq_len=15, vocab_size=10, seed=0)
    assert tokens.shape == (400, 15) and tokens.dtype == np.int64
    assert labels.shape == (400,) and labels.dtype == np.int64
    assert tokens.min() >= 0 and tokens.max() < 10
    n_high = (tokens >= 5).sum(axis=1)
    np.testing.assert_array_equal(labels, (n_high > 15 - n_high).astype(np.int64))
    assert labels.mean() == 0.5
    again = generate_sequence_classification_data(n_samples=400, seq_len=15, vocab_size=10, seed=0)
    np.testing.assert_array_equal(tokens, again[0])


def test_dataloader_batches_dtypes_and_len():
    X = np.arange(50, dtype=np.float64).reshape(10, 5)
    y = np.arange(10, dtype=np.int32)
    loader = DataLoader(X, y, batch_size=4)
    assert len(loader) == 3
    batches = list(loader)
    assert [xb.shape for xb, _ in batches] == [(4, 5), (4, 5), (2, 5)]
    xb, yb = batches[0]
    assert isinstance(xb, Tensor) and xb.dtype == np.float32 and yb.dtype == np.int64
    np.testing.assert_array_equal(yb.numpy(), [0, 1, 2, 3])  # no shuffle: in order
    dropped = DataLoader(X, y, batch_size=4, drop_last=True)
    assert len(dropped) == 2 and len(list(dropped)) == 2
    assert all(yb is None for _, yb in DataLoader(X, batch_size=4))


def test_dataloader_shuffle_covers_every_sample_once_and_reshuffles():
    X = np.arange(37, dtype=np.float32)[:, None]
    y = np.arange(37)
    loader = DataLoader(X, y, batch_size=8, shuffle=True, seed=5)
    epochs = []
    for _ in range(3):
        order = np.concatenate([yb.numpy() for _, yb in loader])
        np.testing.assert_array_equal(np.sort(order), np.arange(37))
        epochs.append(order)
    assert not np.array_equal(epochs[0], epochs[1]) and not np.array_equal(epochs[1], epochs[2])
    # samples stay paired with their targets, and a new loader with the same seed repeats the orders
    for xb, yb in DataLoader(X, y, batch_size=8, shuffle=True, seed=5):
        np.testing.assert_array_equal(xb.numpy()[:, 0], yb.numpy())
    same = DataLoader(X, y, batch_size=8, shuffle=True, seed=5)
    for expected in epochs:
        np.testing.assert_array_equal(np.concatenate([yb.numpy() for _, yb in same]), expected)


def test_dataloader_validates_inputs():
    with pytest.raises(ValueError, match="same number of samples"):
        DataLoader(np.zeros((5, 2)), np.zeros(4))
    with pytest.raises(ValueError, match="batch_size"):
        DataLoader(np.zeros((5, 2)), batch_size=0)
