"""``python -m utils.check NOTEBOOK``: is this notebook ready to submit?

Runs the notebook top to bottom in a fresh Jupyter kernel on your own machine (it is your
code, so no sandbox is needed), then reports

- every visible check (the tables under the exercises, and the quiz's "every question has
  a letter" check),
- every training goal (a cell's ``assert test_accuracy >= 0.98, ...`` after training),
- every written answer that still reads "YOUR ANSWER HERE",

and says "ready to submit" only when all of them pass. Exit status 0 when ready, 1 when not.
(``nbgrader validate`` is no substitute: it exits 0 even when checks fail.) The grader runs
more checks after you submit, so this is necessary, not sufficient, for full marks.
"""
from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from .checks.result import OUTPUT_KEY

# "assert metric >= goal, message" (or <=): a training goal, when it stands in a cell that trains
GOAL = re.compile(r"^(?P<indent>\s*)assert (?P<lhs>.+?) (?P<op>>=|<=) (?P<rhs>[^,\n]+?)\s*,.*$", re.MULTILINE)
ANSI = re.compile(r"\x1b\[[0-9;]*m")
UNANSWERED = ("YOUR ANSWER HERE", "")
CHECK_TAG = "check"


@dataclass
class Finding:
    kind: str                 # "check", "goal" or "answer"
    title: str
    passed: bool
    lines: list = field(default_factory=list)


def _tags(cell) -> list:
    return cell.get("metadata", {}).get("tags") or []


def _nbgrader(cell) -> dict:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return meta if isinstance(meta, dict) else {}


def _error(cell) -> str | None:
    for output in cell.get("outputs", []):
        if output.get("output_type") == "error":
            return ANSI.sub("", f"{output.get('ename')}: {output.get('evalue')}").strip()
    return None


def check_title(cell) -> str:
    """The title given to ``show_result("...", ...)`` in a check cell, else its grade id."""
    found = re.search(r"show_result\(\s*(['\"])(.+?)\1", cell.source)
    return found.group(2) if found else (_nbgrader(cell).get("grade_id") or "check")


def findings(nb) -> list[Finding]:
    """What an executed notebook says about itself, in notebook order."""
    out = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and CHECK_TAG in _tags(cell):
            verdicts = [o["metadata"][OUTPUT_KEY] for o in cell.get("outputs", []) if OUTPUT_KEY in o.get("metadata", {})]
            error = _error(cell)
            if error:
                out.append(Finding("check", check_title(cell), False, error.splitlines()[:8]))
            elif verdicts:
                out.extend(Finding("check", v["title"], bool(v["passed"]), list(v["failures"])) for v in verdicts)
            else:
                out.append(Finding("check", check_title(cell), False, ["the check showed no result"]))
        elif cell.cell_type == "code" and GOAL.search(cell.source) and not _nbgrader(cell).get("solution"):
            error = _error(cell)
            out.append(Finding("goal", f"training goal (cell {index + 1})", error is None, [error] if error else []))
        elif cell.cell_type == "markdown" and _nbgrader(cell).get("solution") and _nbgrader(cell).get("grade"):
            empty = cell.source.strip() in UNANSWERED
            out.append(Finding("answer", f"written answer {_nbgrader(cell).get('grade_id', index + 1)}", not empty,
                               ['still reads "YOUR ANSWER HERE"'] if empty else []))
    return out


def run_notebook(path: Path, cell_timeout: int = 600):
    """Execute a copy of the notebook (every cell, errors allowed) in a fresh kernel; the file is not changed."""
    import nbformat
    from nbclient import NotebookClient

    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=cell_timeout, allow_errors=True, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent.resolve())}},
                            extra_arguments=["--IPKernelApp.log_level=ERROR"])
    client.execute()
    return nb


def ready(found: list[Finding]) -> bool:
    return any(f.kind == "check" for f in found) and all(f.passed for f in found)


def report(found: list[Finding]) -> str:
    if not any(f.kind == "check" for f in found):
        return "no visible checks found in this notebook: is it a course notebook?"
    lines = []
    for f in found:
        mark = "PASS" if f.passed else ("TODO" if f.kind == "answer" else "FAIL")
        lines.append(f"[{mark}] {f.title}")
        lines.extend(f"       - {line}" for line in f.lines if not f.passed)
    checks = [f for f in found if f.kind == "check"]
    parts = [f"{sum(f.passed for f in checks)} of {len(checks)} checks pass"]
    goals = [f for f in found if f.kind == "goal"]
    if goals:
        parts.append(f"{sum(f.passed for f in goals)} of {len(goals)} training goals met")
    empty = sum(not f.passed for f in found if f.kind == "answer")
    if empty:
        parts.append(f"{empty} written answer{'s' if empty > 1 else ''} still empty")
    lines.append(", ".join(parts) + (": ready to submit" if ready(found) else ": not ready to submit yet"))
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m utils.check", description=__doc__.split("\n\n")[0])
    parser.add_argument("notebook")
    parser.add_argument("--timeout", type=int, default=600, help="seconds allowed per cell (default 600)")
    args = parser.parse_args(argv)
    path = Path(args.notebook)
    if not path.is_file():
        print(f"error: no notebook at {path}", file=sys.stderr)
        return 2
    print(f"running {path} in a fresh kernel (training cells included: this can take a few minutes)...", flush=True)
    found = findings(run_notebook(path, args.timeout))
    print(report(found))
    return 0 if ready(found) else 1


if __name__ == "__main__":
    sys.exit(main())
