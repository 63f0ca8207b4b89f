"""Assemble the code the hidden checks run: the student's answers, found robustly.

From an (autograded) notebook the program takes, in notebook order:
- read-only cells tagged ``setup`` (imports and constants the answers need);
- every autograded answer cell, whole (found by its grade cell metadata);
- from any other code cell (one the student added, split or retyped), only its
  top-level ``import``, ``def`` and ``class`` statements, so a function moved to a new
  cell is still found by name while stray experiments and training loops are not run.
Hidden-test cells, visible checks and training cells are left out.

The sandbox runs each piece like a notebook cell, so one broken cell does not hide the
others; IPython magics and shell escapes are dropped.
"""
from __future__ import annotations

import ast

from ..nbgrader_setup.cells import SETUP_TAG, has_tag, is_answer_cell, is_hidden_test_cell, is_readonly_cell, nbgrader_meta

def strip_magics(source: str) -> str:
    """Drop IPython line magics (``%...``), shell escapes (``!...``) and whole cell magics."""
    if source.lstrip().startswith("%%"):
        return ""
    return "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())


def definitions_only(source: str) -> str:
    """The top-level imports, functions and classes of ``source`` ('' if it does not parse)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return ""
    keep = (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    lines = source.splitlines()
    parts = []
    for node in tree.body:
        if isinstance(node, keep):
            start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
            parts.append("\n".join(lines[start - 1:node.end_lineno]))
    return "\n\n".join(parts)


def program_cells(nb) -> list[tuple[str, str]]:
    """``[(label, source), ...]`` in notebook order: what the sandbox executes."""
    cells = []
    for index, cell in enumerate(nb.get("cells", [])):
        if cell.get("cell_type") != "code":
            continue
        source = strip_magics(cell.get("source", "") if isinstance(cell.get("source"), str) else "".join(cell.get("source", [])))
        gid = nbgrader_meta(cell).get("grade_id", "")
        label = f"<cell {index}{' ' + gid if gid else ''}>"
        if is_hidden_test_cell(cell):
            continue
        if is_answer_cell(cell) or (is_readonly_cell(cell) and has_tag(cell, SETUP_TAG)):
            cells.append((label, source))
        elif is_readonly_cell(cell):
            continue
        else:
            defs = definitions_only(source)
            if defs:
                cells.append((label, defs))
    return cells


def build_program(nb) -> list[str]:
    """The cell sources the sandbox runs in order (``StudentSession`` runs each like a cell)."""
    return [source for _, source in program_cells(nb)]
