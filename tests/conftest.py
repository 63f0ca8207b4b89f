"""Shared fixtures: the device parametrisation that skips CUDA cleanly without a GPU."""
import numpy as np
import pytest

from utils.backend import cupy_available

DEVICES = [
    "cpu",
    pytest.param("cuda", marks=[pytest.mark.gpu, pytest.mark.skipif(not cupy_available(), reason="CuPy cannot reach a GPU on this machine")]),
]


@pytest.fixture(params=DEVICES)
def device(request):
    """'cpu', and 'cuda' where CuPy has a GPU (skipped otherwise)."""
    return request.param


@pytest.fixture
def rng():
    """A fresh seeded generator so tests never depend on each other's draws."""
    return np.random.default_rng(1234)


@pytest.fixture(autouse=True)
def _forget_failed_visible_checks():
    """``show_result`` remembers failed checks for ``requires``; each test starts with none."""
    from utils.checks import result

    result._FAILING.clear()
    yield
    result._FAILING.clear()
