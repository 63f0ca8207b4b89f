"""``generate``: solutions/ -> course/ through nbgrader, output-free and deterministic."""
from __future__ import annotations

import nbformat

from .course import Course, GraderError


def generate(course: Course, weeks=None) -> list:
    """Release each week (all by default); returns the written notebook paths.

    nbgrader replaces solutions by stubs, drops hidden-test blocks and records the
    source in the gradebook. We then rewrite each release notebook in a canonical form
    (no outputs, no execution counts, sorted keys) so a diff shows only real changes.
    """
    written = []
    for week in weeks or course.weeks():
        course.check_week(week)
        result = course.api().generate_assignment(week, force=True)
        if not result["success"]:
            raise GraderError(f"nbgrader could not generate {week}:\n{result.get('error') or ''}\n{result.get('log') or ''}")
        for path in sorted((course.release / week).glob("*.ipynb")):
            nb = nbformat.read(path, as_version=4)
            canonicalise(nb)
            nbformat.write(nb, path)
            written.append(path)
    return written


def canonicalise(nb) -> None:
    """Strip outputs and execution counts in place."""
    for cell in nb.cells:
        if cell.cell_type == "code":
            cell.outputs = []
            cell.execution_count = None
