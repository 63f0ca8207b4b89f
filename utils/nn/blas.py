"""An in-place BLAS update for the fused layers, with its plain NumPy/CuPy twin.

``add_matmul(acc, a, b)`` is ``acc += a @ b`` computed by BLAS ``gemm`` with beta = 1,
which adds the product into ``acc`` as it computes it: no temporary and no extra pass
over the result. The LSTM's backward uses it to sum the weight gradient over time steps
(and the hidden-state gradient into the buffer that already holds the outside one).

On NumPy with float32/float64 and a C-contiguous ``acc`` it calls SciPy's BLAS wrapper;
otherwise (CuPy, other dtypes, a strided ``acc``, or ``blas=False``) it runs the plain
expression, which the tests compare it with. (A rank-one ``ger`` for LayerNorm's row
means was tried too: no faster than NumPy's broadcast once called from Python.)
"""
from __future__ import annotations

import numpy as np
from scipy.linalg.blas import get_blas_funcs

_GEMM = {np.dtype(t): get_blas_funcs("gemm", dtype=t) for t in (np.float32, np.float64)}


def _blas_ok(acc, a, b) -> bool:
    return (type(acc) is np.ndarray and acc.dtype in _GEMM and acc.flags.c_contiguous
            and a.dtype == acc.dtype and b.dtype == acc.dtype)


def _column_major(m):
    """``(array, trans)`` with ``array`` Fortran-ordered and ``m == array`` (trans 0) or ``array.T`` (trans 1)."""
    if m.flags.f_contiguous:
        return m, 0
    if m.flags.c_contiguous:
        return m.T, 1
    return np.asfortranarray(m), 0


def add_matmul(acc, a, b, blas: bool = True) -> None:
    """``acc += a @ b`` in place, without a temporary for the product.

    Args:
        acc: (M, K), updated in place.
        a: (M, N); b: (N, K) (transposed views are fine).
        blas: use BLAS ``gemm`` with beta = 1 when possible (see the module docstring).
    """
    if blas and _blas_ok(acc, a, b):
        # BLAS is column-major, and acc.T is acc seen column-major: acc.T += b.T @ a.T.
        (bt, trans_b), (at, trans_a) = _column_major(b.T), _column_major(a.T)
        _GEMM[acc.dtype](1.0, bt, at, 1.0, acc.T, trans_b, trans_a, 1)
    else:
        acc += a @ b
