"""Executes one notebook with nbclient; runs INSIDE the jail (nbclient and its kernel both).

Usage: ``python _nbrunner.py IN_NOTEBOOK OUT_DIR CELL_TIMEOUT``. Writes ``OUT_DIR/executed.ipynb``
(cell errors recorded as nbclient records them; ``allow_errors=True`` so one failing cell does
not stop the rest; a cell past CELL_TIMEOUT is interrupted, gets an error, and the rest runs) and ``OUT_DIR/status.json``: ``{"status", "reason", "cell_errors"}`` with
status ``ok``, ``timed_out`` (a cell ran past CELL_TIMEOUT and could not be interrupted),
``kernel_died``, ``out_of_memory`` (a cell raised MemoryError) or ``error``.
The kernel is this same interpreter (``sys.executable -m ipykernel_launcher``).
"""
import json
import os
import sys

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError

KERNEL_NAME = "grader-python"


def install_kernelspec() -> None:
    """A kernelspec for this interpreter in $JUPYTER_DATA_DIR (searched before system dirs)."""
    spec_dir = os.path.join(os.environ["JUPYTER_DATA_DIR"], "kernels", KERNEL_NAME)
    os.makedirs(spec_dir, exist_ok=True)
    spec = {"argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "Python 3 (sandboxed)", "language": "python"}
    with open(os.path.join(spec_dir, "kernel.json"), "w") as fh:
        json.dump(spec, fh)


def cell_errors(nb) -> list:
    errors = []
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                errors.append({"cell": index, "ename": output.get("ename", ""), "evalue": output.get("evalue", "")})
    return errors


def main():
    in_path, out_dir, cell_timeout = sys.argv[1], sys.argv[2], float(sys.argv[3])
    install_kernelspec()
    nb = nbformat.read(in_path, as_version=4)
    current = {"index": None}
    client = NotebookClient(nb, timeout=cell_timeout, kernel_name=KERNEL_NAME, allow_errors=True,
                            interrupt_on_timeout=True, startup_timeout=120,
                            resources={"metadata": {"path": os.getcwd()}},
                            on_cell_start=lambda cell, cell_index: current.update(index=cell_index))
    status, reason = "ok", "all cells ran"
    try:
        client.execute()
    except CellTimeoutError:
        status, reason = "timed_out", f"cell {current['index']} did not finish within {cell_timeout:g} s"
        nb.cells[current["index"]].setdefault("outputs", []).append(nbformat.v4.new_output(
            "error", ename="CellTimeoutError", evalue=reason, traceback=[f"CellTimeoutError: {reason}"]))
    except DeadKernelError as exc:
        status, reason = "kernel_died", f"the kernel died while running cell {current['index']}: {exc}"
    except Exception as exc:
        status, reason = "error", f"{type(exc).__name__}: {exc}"
    errors = cell_errors(nb)
    memory = [e for e in errors if e["ename"] == "MemoryError"]
    if status == "ok" and memory:
        status, reason = "out_of_memory", f"cell {memory[0]['cell']} raised MemoryError"
    nbformat.write(nb, os.path.join(out_dir, "executed.ipynb"))
    with open(os.path.join(out_dir, "status.json"), "w") as fh:
        json.dump({"status": status, "reason": reason, "cell_errors": errors}, fh)


if __name__ == "__main__":
    main()
