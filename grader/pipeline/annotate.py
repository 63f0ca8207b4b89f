"""Stage 4b: the hidden checks' results, shown in the autograded notebook.

Each hidden-test cell's placeholder becomes its checks' names, points, pass/fail and
student-facing messages (text and HTML), so formgrader and the feedback page show them.
"""
from __future__ import annotations

from pathlib import Path

import nbformat

from ..nbgrader_setup.cells import grade_id, is_hidden_test_cell


def annotate(notebook: Path, scores: dict) -> None:
    """Replace each hidden-test cell's placeholder with its checks' results (names, pass/fail, messages)."""
    nb = nbformat.read(str(notebook), as_version=4)
    for cell in nb.cells:
        if not is_hidden_test_cell(cell) or grade_id(cell) not in scores:
            continue
        cell_score = scores[grade_id(cell)]
        cell.source = f"# Hidden checks: {cell_score.score:g} of {cell_score.max_points:g} points"
        cell.outputs = [nbformat.v4.new_output(
            "display_data", data={"text/plain": results_text(cell_score), "text/html": results_html(cell_score)})]
    mode = notebook.stat().st_mode
    notebook.chmod(mode | 0o200)  # nbgrader leaves it read-only (444); only root could write it as it is
    try:
        nbformat.write(nb, str(notebook))
    finally:
        notebook.chmod(mode)


def results_text(cell) -> str:
    lines = [f"Hidden checks: {cell.score:g} / {cell.max_points:g} points"]
    if cell.reason:
        lines.append(f"  not scored: {cell.reason}")
    for t in cell.tests:
        mark = "PASS" if t["passed"] else "FAIL"
        lines.append(f"  [{mark}] {t['name']} ({t['points']:g} pt)" + ("" if t["passed"] else f" - {t['message']}"))
    return "\n".join(lines)


def results_html(cell) -> str:
    import html

    rows = "".join(
        f"<tr><td style='text-align:left'>{html.escape(t['name'])}</td><td>{t['points']:g}</td>"
        f"<td style='color:{'#1a7f37' if t['passed'] else '#cf222e'}'>{'pass' if t['passed'] else 'fail'}</td>"
        f"<td style='text-align:left'>{'' if t['passed'] else html.escape(t['message'] or '')}</td></tr>"
        for t in cell.tests
    )
    reason = f"<p>Not scored: {html.escape(cell.reason)}</p>" if cell.reason else ""
    return (f"<div><p><b>Hidden checks: {cell.score:g} / {cell.max_points:g} points</b></p>{reason}"
            "<table><thead><tr><th>check</th><th>points</th><th>result</th><th>message</th></tr></thead>"
            f"<tbody>{rows}</tbody></table></div>")
