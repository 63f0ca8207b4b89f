"""One switch between NumPy (CPU) and CuPy (GPU).

Code in ``utils`` never imports a backend directly: it asks ``get_array_module(x)``
(or a Tensor's ``.xp``) which module holds ``x``.

The default device is where new tensors, layers and data-loader batches go when no
``device=`` is given (the rule is spelled out in ``utils.tensor``). It is, in order:

1. the device set with ``set_default_device('cpu' | 'cuda')`` (``set_default_device(None)``
   undoes it), as ``torch.set_default_device`` does;
2. otherwise the environment variable ``UTILS_DEVICE``: ``cpu``, ``cuda`` or ``auto``
   (the default; ``auto`` picks ``cuda`` when ``cupy.is_available()`` says a GPU is usable).
"""
from __future__ import annotations

import functools
import os

import numpy as np

DEVICE_ENV = "UTILS_DEVICE"
DEVICES = ("cpu", "cuda")


@functools.lru_cache(maxsize=1)
def cupy_available() -> bool:
    """True when CuPy is installed *and* can reach a CUDA device."""
    try:
        import cupy
    except Exception:  # not installed, or a broken CUDA install
        return False
    try:
        return bool(cupy.is_available())
    except Exception:
        return False


def _cupy():
    import cupy

    return cupy


_default_override = None  # set by set_default_device; None means "read $UTILS_DEVICE"


def set_default_device(device) -> None:
    """Make ``device`` (``'cpu'`` or ``'cuda'``) the default for new tensors, layers and batches.

    ``None`` goes back to ``$UTILS_DEVICE``. Existing tensors and modules stay where they
    are (move them with ``.to(device)``), as with ``torch.set_default_device``.
    """
    global _default_override
    _default_override = None if device is None else check_device(device)


def default_device() -> str:
    """The device new tensors and modules use: ``set_default_device``'s, else ``$UTILS_DEVICE``'s."""
    if _default_override is not None:
        return _default_override
    choice = os.environ.get(DEVICE_ENV, "auto").strip().lower() or "auto"
    if choice == "auto":
        return "cuda" if cupy_available() else "cpu"
    if choice not in DEVICES:
        raise ValueError(f"{DEVICE_ENV} must be one of cpu, cuda, auto; got {choice!r}")
    if choice == "cuda" and not cupy_available():
        raise RuntimeError(f"{DEVICE_ENV}=cuda but CuPy cannot reach a GPU (cupy.is_available() is False)")
    return choice


get_default_device = default_device


def check_device(device: str) -> str:
    """Validate a device name (``'cpu'`` or ``'cuda'``) and return it."""
    if device is None:
        return default_device()
    device = str(device).lower()
    if device.startswith("cuda"):
        device = "cuda"
    if device not in DEVICES:
        raise ValueError(f"device must be 'cpu' or 'cuda', got {device!r}")
    if device == "cuda" and not cupy_available():
        raise RuntimeError("device 'cuda' requested but CuPy cannot reach a GPU (cupy.is_available() is False)")
    return device


def get_array_module(x):
    """Return ``numpy`` or ``cupy``: the module that owns array ``x``."""
    if type(x) is np.ndarray:  # the common case, answered without attribute lookups
        return np
    data = getattr(x, "data", x) if hasattr(x, "xp") else x
    if type(data).__module__.startswith("cupy"):
        return _cupy()
    return np


def xp_for(device: str):
    """The array module for a device name."""
    return _cupy() if check_device(device) == "cuda" else np


def device_of(x) -> str:
    """``'cuda'`` for a CuPy array, ``'cpu'`` otherwise."""
    return "cuda" if get_array_module(x) is not np else "cpu"


def to_device(array, device: str):
    """Move an array to ``device`` (a no-op when it is already there)."""
    device = check_device(device)
    if device == "cpu":
        return asnumpy(array)
    cp = _cupy()
    return cp.asarray(array)


def asnumpy(x):
    """A NumPy array holding ``x`` (a NumPy or CuPy array, a Tensor, a list or a scalar)."""
    if type(x) is np.ndarray:
        return x
    if hasattr(x, "xp") and hasattr(x, "data"):  # a Tensor
        x = x.data
    if type(x).__module__.startswith("cupy"):
        return x.get()
    return np.asarray(x)
