"""What each nbgrader cell is for, read from its metadata (schema version 3).

| role | grade | solution | locked |
|---|---|---|---|
| read-only (setup, checks, training) | false | false | true |
| autograded answer (code)            | false | true  | false |
| hidden-test cell (code, points)     | true  | false | true |
| free-response answer (markdown)     | true  | true  | false |
"""
from __future__ import annotations


def nbgrader_meta(cell) -> dict:
    meta = cell.get("metadata", {}).get("nbgrader", {})
    return meta if isinstance(meta, dict) else {}


def grade_id(cell) -> str | None:
    return nbgrader_meta(cell).get("grade_id")


def is_answer_cell(cell) -> bool:
    """An autograded code answer: the student's solution."""
    m = nbgrader_meta(cell)
    return cell.get("cell_type") == "code" and bool(m.get("solution")) and not m.get("grade")


def is_hidden_test_cell(cell) -> bool:
    """A graded code cell whose score comes from the hidden checks."""
    m = nbgrader_meta(cell)
    return cell.get("cell_type") == "code" and bool(m.get("grade")) and not m.get("solution")


def is_readonly_cell(cell) -> bool:
    m = nbgrader_meta(cell)
    return bool(m.get("locked")) and not m.get("grade") and not m.get("solution")


def has_tag(cell, tag: str) -> bool:
    return tag in (cell.get("metadata", {}).get("tags") or [])


SETUP_TAG = "setup"   # read-only cells that graded code needs (imports, constants)
CHECK_TAG = "check"   # read-only cells that run a visible check
