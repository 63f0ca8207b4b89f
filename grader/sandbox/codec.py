"""Plain data across the sandbox boundary: one ``.npz`` file holding arrays plus a JSON tree.

What can cross: NumPy arrays (numeric, bool, fixed-width strings) and NumPy scalars (dtype
kept), objects that hold an array (``.numpy()`` or an ndarray ``.data``, e.g. ``utils.Tensor``;
they arrive as plain arrays), ``None``/``bool``/``int``/``float``/``complex``/``str``, and
lists, tuples (kept as tuples) and dicts of those. ``AsTensor(array)`` asks the receiving
side to wrap an argument as a tensor. Anything else is refused with ``CodecError`` naming
where it was found.

Decoding never runs code: ``np.load(..., allow_pickle=False)``, object arrays refused, payload
and uncompressed sizes checked before anything is loaded. Nor can a small payload grow large
once decoded (the other side may be the student's code, and the trusted side has no memory
limit of its own): each array is referred to once at most, the JSON tree is capped at
``MAX_META_BYTES`` (its Python objects take about 50 times its size) and a payload holds at most
``MAX_ARRAYS`` arrays. This module needs only the standard library and NumPy: it is copied into
the sandbox next to the worker.
"""
from __future__ import annotations

import io
import json
import os
import stat
import zipfile

import numpy as np

MAX_BYTES = 256 * 1024 * 1024
MAX_META_BYTES = 4 * 1024 * 1024  # the JSON tree: lists and numbers, not arrays (those travel as .npy entries)
MAX_ARRAYS = 65536
MAX_DEPTH = 64
META_KEY = "__meta__"
ARRAY_KINDS = "biufcUS"  # bool, int, uint, float, complex, str, bytes; never object or void


class CodecError(ValueError):
    """A value that cannot cross the boundary, or a payload that is malformed or too large."""


class AsTensor:
    """Marks an argument to be wrapped as a tensor on the receiving side."""

    def __init__(self, array, requires_grad: bool = False):
        self.array = np.asarray(array)
        self.requires_grad = bool(requires_grad)

    def __repr__(self) -> str:
        return f"AsTensor(shape={self.array.shape}, dtype={self.array.dtype}, requires_grad={self.requires_grad})"


def _as_array(value):
    """The ndarray held by ``value`` (ndarray, Tensor-like, CuPy array), or None."""
    if isinstance(value, np.ndarray):
        return value
    numpy_method = getattr(type(value), "numpy", None)
    if callable(numpy_method):
        arr = value.numpy()
        if isinstance(arr, np.ndarray):
            return arr
    data = getattr(value, "data", None) if not isinstance(value, (bytes, bytearray, memoryview)) else None
    if isinstance(data, np.ndarray):
        return data
    if type(value).__module__.split(".")[0] == "cupy" and callable(getattr(value, "get", None)):
        return np.asarray(value.get())
    return None


class _Encoder:
    def __init__(self, max_bytes: int):
        self.arrays: dict[str, np.ndarray] = {}
        self.max_bytes = max_bytes
        self.nbytes = 0

    def array(self, arr: np.ndarray, where: str) -> str:
        if arr.dtype.kind not in ARRAY_KINDS:
            raise CodecError(f"cannot send an array of dtype {arr.dtype} (at {where}); only numeric, bool and string arrays")
        self.nbytes += arr.nbytes
        if self.nbytes > self.max_bytes:
            raise CodecError(f"payload larger than {self.max_bytes} bytes (at {where})")
        if len(self.arrays) >= MAX_ARRAYS:
            raise CodecError(f"more than {MAX_ARRAYS} arrays or NumPy scalars (at {where}): return one array instead")
        key = f"a{len(self.arrays)}"
        self.arrays[key] = arr
        return key

    def tree(self, value, where: str, depth: int = 0):
        if depth > MAX_DEPTH:
            raise CodecError(f"value nested deeper than {MAX_DEPTH} levels (at {where})")
        if value is None or isinstance(value, (bool, str)):
            return value
        if isinstance(value, (int, float)) and type(value) in (int, float):
            return value
        if isinstance(value, np.generic):
            return {"$": "scalar", "key": self.array(np.asarray(value), where)}
        if isinstance(value, (int, float)):  # subclasses of int/float (e.g. IntEnum): send the plain number
            return int(value) if isinstance(value, int) else float(value)
        if isinstance(value, complex):
            return {"$": "complex", "re": value.real, "im": value.imag}
        if isinstance(value, AsTensor):
            return {"$": "tensor", "key": self.array(value.array, where), "requires_grad": value.requires_grad}
        if isinstance(value, list):
            return [self.tree(v, f"{where}[{i}]", depth + 1) for i, v in enumerate(value)]
        if isinstance(value, tuple):
            return {"$": "tuple", "items": [self.tree(v, f"{where}[{i}]", depth + 1) for i, v in enumerate(value)]}
        if isinstance(value, dict):
            return {"$": "dict", "items": [[self.tree(k, f"{where} key {k!r}", depth + 1), self.tree(v, f"{where}[{k!r}]", depth + 1)]
                                           for k, v in value.items()]}
        arr = _as_array(value)
        if arr is not None:
            return {"$": "array", "key": self.array(arr, where)}
        raise CodecError(f"cannot send a {type(value).__name__} (at {where}); only arrays, numbers, strings, None "
                         "and lists/tuples/dicts of them can cross the sandbox boundary")


def encode(value, *, max_bytes: int = MAX_BYTES) -> bytes:
    """``value`` as the bytes of one ``.npz`` file."""
    enc = _Encoder(max_bytes)
    tree = enc.tree(value, "value")
    meta = json.dumps(tree, allow_nan=True).encode()
    if len(meta) > MAX_META_BYTES:
        raise CodecError(f"the value's structure takes {len(meta)} bytes, more than the limit of {MAX_META_BYTES}: "
                         "return NumPy arrays rather than long lists of numbers")
    buf = io.BytesIO()
    np.savez(buf, **{META_KEY: np.frombuffer(meta, dtype=np.uint8)}, **enc.arrays)
    data = buf.getvalue()
    if len(data) > max_bytes:
        raise CodecError(f"payload of {len(data)} bytes is larger than the limit of {max_bytes}")
    return data


class _Decoder:
    def __init__(self, npz, make_tensor):
        self.npz = npz
        self.make_tensor = make_tensor
        self.used: set = set()

    def array(self, key):
        if not isinstance(key, str) or key == META_KEY or key not in self.npz.files:
            raise CodecError(f"payload refers to a missing array {key!r}")
        if key in self.used:  # each reference would load a copy: a small payload would fill the memory
            raise CodecError(f"payload refers to array {key!r} more than once")
        self.used.add(key)
        try:
            arr = self.npz[key]
        except ValueError as exc:  # object arrays need pickle: refused
            raise CodecError(f"array {key!r} cannot be loaded without pickle: {exc}") from None
        if arr.dtype.kind not in ARRAY_KINDS:
            raise CodecError(f"array {key!r} has the refused dtype {arr.dtype}")
        return arr

    def tree(self, node):
        if node is None or isinstance(node, (bool, int, float, str)):
            return node
        if isinstance(node, list):
            return [self.tree(v) for v in node]
        if not isinstance(node, dict) or "$" not in node:
            raise CodecError(f"malformed payload node {str(node)[:80]!r}")
        tag = node["$"]
        if tag == "array":
            return self.array(node.get("key"))
        if tag == "scalar":
            return self.array(node.get("key"))[()]
        if tag == "tensor":
            return self.make_tensor(self.array(node.get("key")), bool(node.get("requires_grad", False)))
        if tag == "complex":
            return complex(float(node["re"]), float(node["im"]))
        if tag == "tuple":
            return tuple(self.tree(v) for v in node.get("items", []))
        if tag == "dict":
            out = {}
            for pair in node.get("items", []):
                if not isinstance(pair, list) or len(pair) != 2:
                    raise CodecError("malformed dict entry in payload")
                key = self.tree(pair[0])
                try:
                    out[key] = self.tree(pair[1])
                except TypeError:
                    raise CodecError(f"unhashable dict key {key!r} in payload") from None
            return out
        raise CodecError(f"unknown payload tag {tag!r}")


def decode(data: bytes, *, max_bytes: int = MAX_BYTES, make_tensor=AsTensor):
    """The value held by ``data`` (bytes of an ``.npz`` made by ``encode``).

    ``make_tensor(array, requires_grad)`` builds what an ``AsTensor`` argument becomes
    (by default the ``AsTensor`` marker itself).
    """
    if len(data) > max_bytes:
        raise CodecError(f"payload of {len(data)} bytes is larger than the limit of {max_bytes}")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            entries = zf.infolist()
        unpacked = sum(info.file_size for info in entries)
        if unpacked > max_bytes:
            raise CodecError(f"payload unpacks to {unpacked} bytes, more than the limit of {max_bytes}")
        if len(entries) > MAX_ARRAYS + 1:
            raise CodecError(f"payload holds {len(entries) - 1} arrays, more than the limit of {MAX_ARRAYS}")
        meta_size = max((info.file_size for info in entries if info.filename == META_KEY + ".npy"), default=0)
        if meta_size > MAX_META_BYTES + 4096:  # the .npy header is at most a few hundred bytes
            raise CodecError(f"payload metadata unpacks to {meta_size} bytes, more than the limit of {MAX_META_BYTES}")
        npz = np.load(io.BytesIO(data), allow_pickle=False)
    except CodecError:
        raise
    except Exception as exc:
        raise CodecError(f"payload is not a valid npz file: {type(exc).__name__}: {exc}") from None
    with npz:
        if META_KEY not in npz.files:
            raise CodecError("payload has no metadata entry")
        try:
            meta = npz[META_KEY]
            if meta.dtype != np.uint8 or meta.ndim != 1:
                raise CodecError("payload metadata is not a byte string")
            tree = json.loads(meta.tobytes().decode("utf-8"))
        except CodecError:
            raise
        except (ValueError, RecursionError, UnicodeDecodeError) as exc:
            raise CodecError(f"payload metadata is not valid JSON: {type(exc).__name__}") from None
        try:
            return _Decoder(npz, make_tensor).tree(tree)
        except RecursionError:
            raise CodecError("payload nested too deeply") from None


def write_file(path, value, *, max_bytes: int = MAX_BYTES) -> None:
    """Encode ``value`` into a new file at ``path`` (never follows or overwrites an existing entry)."""
    data = encode(value, max_bytes=max_bytes)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)


def read_file(path, *, max_bytes: int = MAX_BYTES, make_tensor=AsTensor):
    """Decode the file at ``path``: a regular file, not a symlink, at most ``max_bytes`` long."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    except OSError as exc:
        raise CodecError(f"cannot open payload {path}: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as fh:
        st = os.fstat(fh.fileno())
        if not stat.S_ISREG(st.st_mode):
            raise CodecError(f"payload {path} is not a regular file")
        if st.st_size > max_bytes:
            raise CodecError(f"payload {path} has {st.st_size} bytes, more than the limit of {max_bytes}")
        data = fh.read(max_bytes + 1)
    return decode(data, max_bytes=max_bytes, make_tensor=make_tensor)
