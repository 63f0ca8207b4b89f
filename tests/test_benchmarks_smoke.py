"""The benchmark code itself works: every case runs once at a small size (no timing).

Where torch is installed, the torch side runs too and must produce the same gradients
(or, for the training epoch, the same trained weights): the benchmark compares like
with like only if the weights really were copied across.
"""
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # benchmarks/ is not an installed package

from benchmarks.cases import CASES  # noqa: E402

SCALE = 0.05


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_utils_side_runs(case):
    step, result = case.utils_side(case.arrays(SCALE))
    step()
    out = result()
    assert out and all(o is not None and np.all(np.isfinite(o)) for o in out)


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_torch_side_matches(case):
    torch = pytest.importorskip("torch", reason="torch is not installed (pip install torch==2.13.0)")
    torch.set_num_threads(1)  # tiny sizes: a second thread only waits (and competes with parallel tests)
    arrays = case.arrays(SCALE)
    u_step, u_result = case.utils_side(arrays)
    t_step, t_result = case.torch_side(arrays)
    u_step()
    t_step()
    u, t = u_result(), t_result()
    assert len(u) == len(t)
    for k, (a, b) in enumerate(zip(u, t)):
        a = np.asarray(a)
        assert a.shape == b.shape, f"output {k}: {a.shape} vs {b.shape}"
        if case.compare == "shapes":  # dropout masks differ between the libraries: same shapes, finite values
            assert np.all(np.isfinite(a)) and np.all(np.isfinite(b)), f"output {k} is not finite"
            continue
        atol = 1e-4 * max(1.0, float(np.abs(b).max()))
        if case.compare == "most":  # weights after Adam steps: a few near-zero-gradient weights move +-lr either way
            close = np.isclose(a, b, rtol=1e-3, atol=atol)
            assert close.mean() >= 0.99, f"output {k}: only {close.mean():.1%} of the weights agree"
            assert np.abs(a - b).max() <= 100 * atol, f"output {k}: weights differ by up to {np.abs(a - b).max():.2g}"
            continue
        np.testing.assert_allclose(a, b, rtol=1e-3, atol=atol, err_msg=f"output {k}")


def test_table_from_two_interleaved_worker_processes(capsys):
    """The real harness (utils and torch workers asked case by case) prints a row per case."""
    from benchmarks.__main__ import main

    assert main(["--threads", "1", "--rounds", "1", "--budget", "0.01", "--scale", str(SCALE), "--only", "cross-entropy"]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("| cross-entropy"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells[1] == "1" and float(cells[2]) > 0  # threads, utils ms
    try:
        import torch  # noqa: F401
        assert float(cells[3]) > 0 and float(cells[4]) > 0  # torch ms, ratio
    except ImportError:
        assert cells[3] == "n/a" and "torch is not installed" in out


def test_device_cuda_skips_cleanly_without_a_gpu(capsys):
    from benchmarks.__main__ import _gpu_missing, main

    if not _gpu_missing():
        pytest.skip("a GPU is usable here: the CUDA comparison would run for minutes")
    assert main(["--device", "cuda"]) == 0
    assert "--device cuda skipped:" in capsys.readouterr().out


@pytest.mark.slow
def test_notebooks_mode_reports_time_and_kernel_memory(tmp_path):
    """One tiny notebook through the real child process and kernel: seconds, peak RSS, errors."""
    import nbformat

    from benchmarks.notebooks import _child

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import numpy as np\nblock = np.ones(20_000_000)"),
                                         nbformat.v4.new_code_cell("1 / 0")])
    path = tmp_path / "tiny.ipynb"
    path.write_text(nbformat.writes(nb))
    result = _child(["--one", str(path)])
    assert result["seconds"] > 0
    assert result["kernel_peak_mib"] > 150  # the kernel held a 153 MiB array: the peak is the kernel's, not the runner's
    assert result["kernel_cpu_seconds"] > 0.05  # filling the array is the kernel's work, counted once it is reaped
    assert result["errors"] and result["errors"][0].startswith("ZeroDivisionError")
    assert result["slowest_cell"]["index"] in (0, 1) and result["slowest_cell"]["seconds"] >= 0


def test_tree_memory_sees_a_grandchild_that_rusage_would_not():
    """A process two levels down that holds 150 MiB for a moment shows in the sampled peak."""
    import subprocess

    from benchmarks.tree_memory import TreeMemory

    hold = f"{sys.executable} -c \"import time; b = b'x' * (150 << 20); time.sleep(0.5)\""
    with TreeMemory(interval=0.02) as memory:
        subprocess.run(["sh", "-c", f"{hold}; true"], check=True)  # sh stays between us and python
    assert memory.peak_process_mib >= 140
    assert memory.peak_total_mib >= memory.peak_process_mib
