"""The in-place BLAS update (``utils.nn.blas.add_matmul``) equals its plain twin, whatever the operands' layouts."""
import numpy as np
import pytest

from utils.nn.blas import add_matmul

TOL = {np.float32: 1e-5, np.float64: 1e-12}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_add_matmul_blas_path_equals_the_plain_sum(rng, dtype):
    a = rng.standard_normal((6, 4)).astype(dtype)
    b = rng.standard_normal((5, 4)).astype(dtype)  # used as b.T: (4, 5)
    for left in (a, np.asfortranarray(a), a[:, ::-1]):  # C, Fortran and non-contiguous operands
        for right in (b.T, np.ascontiguousarray(b.T), b[::-1].T):
            start = rng.standard_normal((6, 5)).astype(dtype)
            fast, plain = start.copy(), start.copy()
            add_matmul(fast, left, right)
            add_matmul(plain, left, right, blas=False)
            np.testing.assert_allclose(fast, plain, rtol=TOL[dtype])
            np.testing.assert_allclose(plain, start + left @ right, rtol=1e-6)


def test_strided_or_mixed_accumulators_take_the_plain_path(rng):
    """BLAS can only write into a contiguous array of its own dtype: anything else must still be right."""
    a, b = rng.standard_normal((6, 4)), rng.standard_normal((4, 5))
    strided = np.zeros((6, 10))[:, ::2]
    add_matmul(strided, a, b)
    np.testing.assert_allclose(strided, a @ b)
    mixed = np.zeros((6, 5), dtype=np.float32)
    add_matmul(mixed, a, b)
    np.testing.assert_allclose(mixed, a @ b, rtol=1e-6)
