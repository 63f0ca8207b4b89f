"""Every week's reference notebook, run whole on the GPU (``make test-gpu``; skipped without one).

The kernel gets ``UTILS_DEVICE=cuda``, so tensors made from lists and NumPy arrays, layers
and data-loader batches all land on the GPU by the library's one device rule; a notebook
that mixes devices fails here. Outside a GPU machine every case skips with the reason.
"""
import shutil
from pathlib import Path

import nbformat
import pytest

from utils.backend import cupy_available

ROOT = Path(__file__).resolve().parents[1]
WEEKS = sorted(p.name for p in (ROOT / "solutions").iterdir() if p.is_dir())


def run_notebook(folder: Path, device: str, timeout: int = 900) -> nbformat.NotebookNode:
    """Execute the one notebook in ``folder`` top to bottom in a kernel with ``UTILS_DEVICE=device``; return it."""
    import os

    from nbclient import NotebookClient

    (path,) = folder.glob("*.ipynb")
    nb = nbformat.read(path, as_version=4)
    env = dict(os.environ, UTILS_DEVICE=device, MPLBACKEND="Agg")
    client = NotebookClient(nb, timeout=timeout, allow_errors=True, kernel_name="python3",
                            resources={"metadata": {"path": str(folder)}}, extra_arguments=["--IPKernelApp.log_level=ERROR"])
    client.execute(env=env)  # options for the kernel manager's start_kernel: the kernel's environment
    return nb


def errors_and_device(nb) -> tuple[list, str]:
    """``(errors, text of the setup cell's output)``: every error output as (cell, ename, evalue)."""
    errors = [(i, o.get("ename"), o.get("evalue", "")[:300]) for i, c in enumerate(nb.cells) if c.cell_type == "code"
              for o in c.get("outputs", []) if o.get("output_type") == "error"]
    printed = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" and "default_device()" in c.source
                      for o in c.get("outputs", []) if o.get("output_type") == "stream")
    return errors, printed


@pytest.mark.gpu
@pytest.mark.slow
@pytest.mark.skipif(not cupy_available(), reason="CuPy cannot reach a GPU on this machine")
@pytest.mark.parametrize("week", WEEKS)
def test_reference_notebook_runs_whole_on_the_gpu(week, tmp_path):
    folder = tmp_path / week
    shutil.copytree(ROOT / "solutions" / week, folder)
    nb = run_notebook(folder, "cuda")
    errors, printed = errors_and_device(nb)
    assert "on cuda" in printed, f"{week}: the setup cell did not report the GPU: {printed!r}"
    assert not errors, f"{week} fails on the GPU: {errors}"
