"""Saving and loading state dicts as ``.npz`` archives — never pickle.

A ``.npz`` file is a zip archive with one ``.npy`` member per array. Loading uses
``allow_pickle=False``, so opening a file can never run code: an archive that holds
object arrays (which only pickle can store) is refused. Key order and dtypes survive a
round trip; arrays are always written from, and read back to, the host (NumPy).
"""
from __future__ import annotations

import os
import zipfile
from collections import OrderedDict

import numpy as np

from .backend import asnumpy
from .tensor import Tensor


def save(state_dict, path) -> None:
    """Write ``state_dict`` (name -> array or Tensor) to ``path`` as an ``.npz`` archive.

    Args:
        state_dict: a mapping from string keys to NumPy/CuPy arrays, Tensors or numbers;
            written in its iteration order.
        path: the file to write, used exactly as given (no suffix is added).
    Raises:
        TypeError for a non-string key or an object array (it would need pickle).
    """
    arrays = []
    for key, value in state_dict.items():
        if not isinstance(key, str):
            raise TypeError(f"save: keys must be strings, got {key!r} ({type(key).__name__})")
        arr = np.asarray(asnumpy(value.data if isinstance(value, Tensor) else value))
        if arr.dtype.hasobject:
            raise TypeError(f"save: '{key}' has dtype object, which can only be stored with pickle; convert it to a numeric array")
        arrays.append((key, arr))
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_STORED, allowZip64=True) as archive:
        for key, arr in arrays:
            with archive.open(key + ".npy", "w", force_zip64=True) as member:
                np.lib.format.write_array(member, arr, allow_pickle=False)


def load(path) -> "OrderedDict[str, np.ndarray]":
    """Read an archive written by ``save`` (or ``np.savez``) into an OrderedDict of NumPy arrays.

    Args:
        path: the ``.npz`` file.
    Returns:
        OrderedDict mapping each key to a NumPy array, in the order they were saved.
    Raises:
        FileNotFoundError when ``path`` does not exist; ValueError when it is not an
        ``.npz`` archive, is corrupted, or holds object arrays (refused: they need pickle).
    """
    if not os.path.exists(path):
        raise FileNotFoundError(f"load: no such file: {path}")
    if not zipfile.is_zipfile(path):
        raise ValueError(f"load: {path} is not an .npz archive (expected a zip file of .npy arrays, as written by utils.save)")
    state = OrderedDict()
    try:
        with np.load(path, allow_pickle=False) as archive:
            for key in archive.files:
                state[key] = archive[key]
    except ValueError as err:
        if "pickle" in str(err).lower():
            raise ValueError(f"load: {path} holds an object array, which would need pickle to load; refused (loading must never run code)") from None
        raise ValueError(f"load: {path} is a corrupted .npz archive ({err})") from None
    except (zipfile.BadZipFile, OSError, EOFError, KeyError) as err:
        raise ValueError(f"load: {path} is a corrupted .npz archive ({type(err).__name__}: {err})") from None
    return state


def save_model(module, path) -> None:
    """Save ``module.state_dict()`` to ``path`` (see ``save``)."""
    save(module.state_dict(), path)


def load_model(module, path):
    """Load the arrays in ``path`` into ``module`` (strict: names and shapes must match); returns ``module``."""
    module.load_state_dict(load(path))
    return module
