"""Goldens: the expected outputs of the visible checks, stored as data.

Some visible checks compare a student's module with outputs the instructor's reference
answer gave on the same fixed inputs and fixed weights. Those outputs (and the weights,
keyed by parameter name) are precomputed by ``python -m grader goldens`` and shipped as
``utils/checks/goldens/<week>.npz``; the reference code itself never leaves the instructor.
"""
from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np

GOLDENS_DIR = Path(__file__).resolve().parent / "goldens"
_CACHE: dict[str, dict[str, np.ndarray]] = {}


def golden_path(week: str, directory: Path | None = None) -> Path:
    return Path(directory or GOLDENS_DIR) / f"{week}.npz"


def load_goldens(week: str) -> dict[str, np.ndarray]:
    """``{key: array}`` stored for ``week`` (read once, then cached; no pickles)."""
    if week not in _CACHE:
        path = golden_path(week)
        if not path.is_file():
            raise FileNotFoundError(f"the expected outputs of the {week} checks are missing ({path}): "
                                    "reinstall the course library")
        with np.load(path, allow_pickle=False) as data:
            _CACHE[week] = {key: data[key] for key in data.files}
    return _CACHE[week]


def save_goldens(path: Path, values: dict[str, np.ndarray]) -> Path:
    """Write ``values`` as an ``.npz`` that ``np.load`` reads, byte-identical for identical values."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for key in values:
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.ascontiguousarray(values[key]), allow_pickle=False)
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(2026, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, buffer.getvalue())
    return path


def section(values: dict[str, np.ndarray], prefix: str) -> dict[str, np.ndarray]:
    """The entries under ``prefix/``, with the prefix removed."""
    start = prefix.rstrip("/") + "/"
    return {key[len(start):]: value for key, value in values.items() if key.startswith(start)}


def prefixed(prefix: str, values: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    return {f"{prefix}/{key}": np.asarray(value) for key, value in values.items()}
