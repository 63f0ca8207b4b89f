"""``check NOTEBOOK``: run a notebook and report its visible checks, with an exit code.

Unlike ``nbgrader validate`` (which exits 0 even when tests fail) this exits 1 when any
visible check fails or none ran. It executes the student's own notebook in a local
kernel — their code on their machine — so it needs no sandbox.
"""
from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

from .notebook_roles import CHECK_TAG, grade_id, has_tag

ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass
class CheckOutcome:
    title: str
    passed: bool
    message: str = ""


def check_title(cell) -> str:
    """The title passed to ``show_result(...)`` in a check cell, else its grade id."""
    try:
        for node in ast.walk(ast.parse(cell.source)):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") == "show_result" and node.args:
                if isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                    return node.args[0].value
    except SyntaxError:
        pass
    return grade_id(cell) or "check"


def run_checks(path: Path, cell_timeout: int = 600) -> list[CheckOutcome]:
    """Execute the notebook (all cells, errors allowed) and collect each check cell's result."""
    from nbclient import NotebookClient

    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=cell_timeout, allow_errors=True, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent.resolve())}},
                            # the kernel's own log (a warning about TCP on loopback) is noise here
                            extra_arguments=["--IPKernelApp.log_level=ERROR"])
    client.execute()
    outcomes = []
    for cell in nb.cells:
        if cell.cell_type != "code" or not has_tag(cell, CHECK_TAG):
            continue
        errors = [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]
        message = ""
        if errors:
            err = errors[0]
            message = ANSI.sub("", f"{err.get('ename')}: {err.get('evalue')}").strip()
        outcomes.append(CheckOutcome(check_title(cell), not errors, message))
    return outcomes


def report(outcomes: list[CheckOutcome]) -> str:
    if not outcomes:
        return "no visible checks found in this notebook"
    lines = []
    for o in outcomes:
        lines.append(f"[{'PASS' if o.passed else 'FAIL'}] {o.title}")
        if not o.passed:
            lines.extend("       " + line for line in o.message.splitlines()[:8])
    passed = sum(o.passed for o in outcomes)
    lines.append(f"{passed} of {len(outcomes)} checks passed")
    return "\n".join(lines)
