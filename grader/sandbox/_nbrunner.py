"""Executes one notebook with nbclient; runs INSIDE the jail (nbclient and its kernel both).

``notebook.run_notebook`` copies this file into the jail's workspace as ``_grader_nbrunner.py``
and starts ``python -B /jail/_grader_nbrunner.py /jail/notebook.ipynb CELL_TIMEOUT REPORT_FD``
(it cannot import the grader, which the jail hides). The run renders the notebook: its
status becomes a warning on the submission's row, never a score. Writes one
``RunnerReport`` (``runner_report.py``, copied beside it as ``_grader_runner_report.py``) on REPORT_FD: the executed notebook (cell
errors recorded as nbclient records them; ``allow_errors=True`` so one failing cell does not
stop the rest; outputs capped at OUTPUT_CAP characters each, so a cell that prints megabytes
still leaves a notebook small enough to grade) and a status: ``ok``, ``timed_out`` (a cell ran
past CELL_TIMEOUT; later cells were not run), ``kernel_died``, ``out_of_memory`` (a cell raised
MemoryError) or ``error``.

The report is out of the student's reach: this process makes itself non-dumpable before the
kernel starts (so the kernel, the same uid, can neither open ``/proc/PID/fd`` here nor trace
it), and the kernel does not inherit REPORT_FD. The kernel can at most kill this process, and
then no report arrives. The kernel is this same interpreter (``sys.executable -m ipykernel_launcher``).

Once the last cell has answered, the kernel is killed, not asked to shut down: its outputs are
all in, and a graceful shutdown (IPython's exit handlers, jupyter_client polling for the exit)
cost about a second per notebook for nothing; the jail ends every process it holds anyway.
"""
import ctypes
import json
import os
import sys

PR_SET_DUMPABLE = 4
if ctypes.CDLL(None, use_errno=True).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0:
    raise SystemExit("prctl(PR_SET_DUMPABLE, 0) refused: the report would be within the student's reach")

# jsonschema (under nbformat) imports the optional checkers of string formats at import time; nbformat
# validates no such format, so this process goes without them (about 0.1-0.3 s per notebook; one of them,
# rfc3987_syntax, takes seconds: see grader/__init__.py).
for _optional in ("rfc3987_syntax", "rfc3987", "rfc3986_validator", "rfc3339_validator", "isoduration", "webcolors",
                  "jsonpointer", "uri_template", "fqdn"):
    sys.modules.setdefault(_optional, None)

import nbformat  # noqa: E402
from _grader_runner_report import RunnerReport  # noqa: E402 - runner_report.py, copied beside this file
from nbclient import NotebookClient  # noqa: E402
from nbclient.exceptions import CellTimeoutError, DeadKernelError  # noqa: E402

KERNEL_NAME = "grader-python"
OUTPUT_CAP = 100_000


def cap(text: str) -> str:
    if len(text) <= OUTPUT_CAP:
        return text
    return text[:OUTPUT_CAP] + f"\n[output cut: {len(text) - OUTPUT_CAP} more characters]\n"


def cap_outputs(nb) -> None:
    """Cut long stream text and drop oversized rich outputs, in place."""
    for cell in nb.cells:
        for output in cell.get("outputs", []):
            if output.get("output_type") == "stream":
                output["text"] = cap(output.get("text", ""))
            elif "data" in output:
                data = output["data"]
                for mime in list(data):
                    value = data[mime]
                    size = len(value) if isinstance(value, str) else len(json.dumps(value))
                    if size > 4 * OUTPUT_CAP:
                        del data[mime]
                if not data:
                    data["text/plain"] = "[output dropped: too large]"
            elif output.get("output_type") == "error":
                output["evalue"] = cap(output.get("evalue", ""))


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
    in_path, cell_timeout, report_fd = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
    os.set_inheritable(report_fd, False)
    report = os.fdopen(report_fd, "w", encoding="utf-8")
    install_kernelspec()
    nb = nbformat.read(in_path, as_version=4)
    current = {"index": None}
    client = NotebookClient(nb, timeout=cell_timeout, kernel_name=KERNEL_NAME, allow_errors=True,
                            interrupt_on_timeout=False, startup_timeout=120, shutdown_kernel="immediate",
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
    cap_outputs(nb)
    report.write(RunnerReport(status, reason, nbformat.writes(nb), errors).to_json())
    report.close()


if __name__ == "__main__":
    main()
