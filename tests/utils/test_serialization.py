"""npz save/load: bit-exact round trips, key order, dtypes, and never pickle."""
from collections import OrderedDict

import numpy as np
import pytest

from utils import Tensor, load, load_model, save, save_model
from utils.nn import LSTM, Linear, PositionalEncoding, Sequential


def test_round_trip_is_bit_exact_and_keeps_order_and_dtypes(tmp_path, rng):
    state = OrderedDict([
        ("z.weight", rng.standard_normal((3, 2)).astype(np.float32)),
        ("a.bias", rng.standard_normal(4)),
        ("file", np.arange(5, dtype=np.int64)),  # a key that np.savez could not take as a keyword
        ("steps", np.array(7, dtype=np.int32)),
        ("mask", np.array([True, False])),
        ("t", Tensor(np.ones(2), dtype=np.float64)),
    ])
    path = tmp_path / "state.npz"
    save(state, path)
    loaded = load(path)
    assert isinstance(loaded, OrderedDict)
    assert list(loaded) == list(state)
    for key, value in state.items():
        value = value.data if isinstance(value, Tensor) else value
        assert type(loaded[key]) is np.ndarray and loaded[key].dtype == value.dtype, key
        assert loaded[key].tobytes() == value.tobytes(), key


def test_object_arrays_are_refused(tmp_path):
    with pytest.raises(TypeError, match="object"):
        save({"x": np.array([{"a": 1}], dtype=object)}, tmp_path / "x.npz")
    path = tmp_path / "evil.npz"
    np.savez(path, x=np.array([{"a": 1}, None], dtype=object))  # written with pickle inside
    with pytest.raises(ValueError, match="pickle"):
        load(path)


def test_bad_files_give_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "missing.npz")
    text = tmp_path / "notes.npz"
    text.write_text("hello")
    with pytest.raises(ValueError, match="not an .npz archive"):
        load(text)
    npy = tmp_path / "single.npy"
    np.save(npy, np.zeros(3))
    with pytest.raises(ValueError, match="not an .npz archive"):
        load(npy)
    good = tmp_path / "good.npz"
    save({"w": np.arange(1000.0)}, good)
    data = bytearray(good.read_bytes())
    data[200] ^= 0xFF  # flip a byte inside the array data
    bad = tmp_path / "bad.npz"
    bad.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="corrupted"):
        load(bad)
    with pytest.raises(TypeError, match="strings"):
        save({1: np.zeros(1)}, tmp_path / "k.npz")


def test_save_model_load_model(tmp_path):
    np.random.seed(0)
    model = Sequential(Linear(3, 4), Linear(4, 2))
    path = tmp_path / "model.npz"
    save_model(model, path)
    np.random.seed(1)
    other = Sequential(Linear(3, 4), Linear(4, 2))
    assert load_model(other, path) is other
    for (k, a), (k2, b) in zip(model.state_dict().items(), other.state_dict().items()):
        assert k == k2 and np.array_equal(a, b)
    with pytest.raises(KeyError, match="missing"):
        load_model(LSTM(3, 4), path)
    pe = PositionalEncoding(4, max_len=6)  # buffers travel too
    save_model(pe, tmp_path / "pe.npz")
    assert list(load(tmp_path / "pe.npz")) == ["pe"]


def test_device_arrays_are_saved_from_the_host(tmp_path, device):
    model = Linear(2, 3).to(device)
    save_model(model, tmp_path / "m.npz")
    loaded = load(tmp_path / "m.npz")
    assert all(type(v) is np.ndarray for v in loaded.values())
    load_model(model, tmp_path / "m.npz")
    assert model.weight.device == device
