"""nbgrader's Execute step, moved into the sandbox.

Plain nbgrader runs the student's notebook in a kernel with the instructor's rights:
it can read ``solutions/``, write the gradebook, or patch whatever the test cells use.
``SandboxedExecute`` runs it in ``grader.sandbox`` instead (no network, no access to the
course root or the grader, resource limits) and copies back only the cell outputs,
onto nbgrader's own copy of the cells. Graded test cells then get a fixed ``0.0``
result: their real scores come from the hidden checks, never from the kernel.

This run only *renders* the notebook (outputs for feedback and hand grading): when it
fails, a warning is kept in ``render_state`` and nbgrader carries on with the outputs that
exist; with ``--no-render`` it is skipped and the cells keep no outputs.
"""
from __future__ import annotations

import functools
import json
import os
import tempfile
import traceback
from dataclasses import replace
from pathlib import Path

import jsonschema
import nbformat
from nbformat.notebooknode import NotebookNode
from nbgrader.nbgraderformat import MetadataValidator, SchemaTooNewError, SchemaTooOldError, ValidationError
from nbgrader.nbgraderformat.common import BaseMetadataValidator
from nbgrader.preprocessors import CheckCellMetadata, Execute, OverwriteCells
from traitlets import Integer

from .. import limits
from ..sandbox.paths import jail_paths
from .cells import grade_id, is_hidden_test_cell


class RenderState:
    """What this process's rendering did, for ``grader.pipeline.autograde`` to report.

    nbgrader swallows a preprocessor's exceptions and keeps none of its state, so the
    step reads this after nbgrader's autograde returns. ``render`` is set by the step
    before autograde (``--no-render`` turns it off).
    """

    def __init__(self):
        self.render = True
        self.rendered = False
        self.warning = ""


# This process's rendering (one submission per step process).
render_state = RenderState()

# Set by ``grader.pipeline.autograde``: only the grader's pipeline may execute a submission.
PIPELINE_ENV = "GRADER_PIPELINE"


class PlainAutogradeRefused(RuntimeError):
    """``nbgrader autograde`` (or formgrader's Autograde button) was run outside the grader."""


PLAIN_AUTOGRADE_MESSAGE = (
    "this course is autograded with `python -m grader autograde <week> [--student ID]`: plain nbgrader "
    "(formgrader's Autograde button included) cannot run the hidden checks and would score them 0, "
    "so it is refused. The scores in the gradebook stay as they were, but nbgrader has removed this "
    "student's autograded copy: rerun `python -m grader autograde <week> --student ID` to restore it")

PLACEHOLDER_OUTPUT = {"output_type": "execute_result", "execution_count": None, "metadata": {}, "data": {"text/plain": "0.0"}}


class SandboxedExecute(Execute):
    """Execute the notebook inside the jail and take back only its outputs."""

    wall_seconds = Integer(limits.NOTEBOOK_WALL, help="Wall-clock limit for the whole notebook").tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: dict):
        if os.environ.get(PIPELINE_ENV) != "1":
            raise PlainAutogradeRefused(PLAIN_AUTOGRADE_MESSAGE)
        executed = self.render(nb) if render_state.render else None
        copy_outputs(executed, nb)
        return nb, resources

    def render(self, nb: NotebookNode) -> NotebookNode | None:
        """Run ``nb`` in the jail; the executed notebook (possibly cut short), or None.

        A run that fails (a cell past its limit, a dead kernel, memory) is a warning in
        ``render_state``: points come from the hidden checks, never from this run.
        """
        from ..sandbox import run_notebook

        course_root = Path(self.config.CourseDirectory.root or ".").resolve()
        hide, expose = jail_paths(course_root)
        with tempfile.TemporaryDirectory(prefix="grader-exec-") as tmp:
            source, executed_path = Path(tmp) / "submission.ipynb", Path(tmp) / "executed.ipynb"
            nbformat.write(nb, source)
            result = run_notebook(
                source, executed_path, hide=hide, expose=expose,
                limits=replace(limits.RENDER_JAIL, wall_seconds=self.wall_seconds, cpu_seconds=self.wall_seconds),
                cell_timeout=self.timeout,
            )
            executed = None
            if result.output_path is not None:
                try:
                    executed = nbformat.read(executed_path, as_version=4)
                except Exception as exc:  # the jail wrote something that is not a notebook
                    result.status, result.reason = "error", f"the executed notebook could not be read back ({exc})"
        if result.status == "ok" and executed is not None:
            render_state.rendered = True
        else:
            render_state.warning = render_warning(result.status, result.reason, shown=executed is not None)
        return executed


def render_warning(status: str, reason: str, shown: bool) -> str:
    """The row's warning for a notebook run that did not reach the end."""
    what = {"timed_out": "ran past its time limit", "kernel_died": "stopped its kernel",
            "out_of_memory": "ran out of memory"}.get(status, "could not be run")
    outputs = "outputs up to that point are shown" if shown else "no outputs are shown"
    return (f"rendering: the notebook {what} ({reason}); {outputs}. The points come from the hidden checks and are "
            "not affected [instructor: to render again with a longer limit, GRADER_CELL_TIMEOUT=<seconds> python -m "
            "grader render <week> --student <id>]")


def copy_outputs(executed: NotebookNode | None, nb: NotebookNode) -> None:
    """Copy valid outputs from the jail's notebook onto nbgrader's cells, by position.

    Sources and metadata stay nbgrader's own; an output that is not valid nbformat
    is replaced by a note. Hidden-test cells get the fixed placeholder result. Without an
    executed notebook (not rendered) every code cell is left without outputs.
    """
    jailed = executed.get("cells", []) if executed is not None else []
    per_cell = {i: list(jailed[i].get("outputs", []) or []) for i, cell in enumerate(nb.cells)
                if cell.cell_type == "code" and i < len(jailed) and isinstance(jailed[i], dict)}
    all_valid = _valid_outputs([out for outs in per_cell.values() for out in outs]) is not None  # one check, usually
    for i, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        outputs = []
        for out in per_cell.get(i, []):
            nodes = [nbformat.from_dict(out)] if all_valid else _valid_outputs([out])
            outputs += nodes if nodes is not None else [
                nbformat.v4.new_output("stream", name="stdout", text="[grader: an invalid output was dropped]\n")]
        if is_hidden_test_cell(cell):
            outputs = [nbformat.from_dict(dict(PLACEHOLDER_OUTPUT))]
        cell.outputs = outputs


def _valid_outputs(outputs: list) -> list | None:
    """``outputs`` as notebook nodes when every one is a valid nbformat output, else None."""
    try:
        nodes = [nbformat.from_dict(out) for out in outputs]
        probe = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("", outputs=nodes)])
        nbformat.validate(probe)  # raises on anything malformed
        return nodes
    except Exception:
        return None


class CheckCellMetadataOnce(CheckCellMetadata):
    """nbgrader's ``CheckCellMetadata`` with the JSON schema of the cell metadata prepared once per
    process: nbgrader's validator calls ``jsonschema.validate`` for every cell, which checks the
    schema itself and builds a validator each time (about a third of nbgrader's own time per
    notebook, paid twice: when sanitising and when autograding). The same checks, the same errors."""

    def preprocess(self, nb: NotebookNode, resources: dict):
        try:
            _metadata_validator().validate_nb(nb)
        except ValidationError:
            self.log.error(traceback.format_exc())
            msg = "Notebook failed to validate; the nbgrader metadata may be corrupted."
            self.log.error(msg)
            raise ValidationError(msg)
        return nb, resources


class _SchemaCheckedOnce(BaseMetadataValidator):
    """``BaseMetadataValidator.validate_cell`` (version check, then the schema) with a prepared schema validator."""

    def validate_cell(self, cell: NotebookNode) -> None:
        if "nbgrader" not in cell.metadata:
            return
        version = cell.metadata["nbgrader"].get("schema_version", 0)
        if version < self.schema_version:
            raise SchemaTooOldError(f"Outdated schema version: {version} (expected {self.schema_version})",
                                    version, self.schema_version)
        if version > self.schema_version:
            raise SchemaTooNewError(f"Schema version is too new: {version} (expected {self.schema_version})",
                                    version, self.schema_version)
        error = jsonschema.exceptions.best_match(self._schema_validator().iter_errors(cell.metadata["nbgrader"]))
        if error is not None:
            raise error  # what jsonschema.validate raises

    def _schema_validator(self):
        return _prepared_schema(json.dumps(self.schema, sort_keys=True))


@functools.lru_cache(maxsize=4)
def _prepared_schema(schema_text: str):
    """A jsonschema validator for the schema (checked once), per process."""
    schema = json.loads(schema_text)
    kind = jsonschema.validators.validator_for(schema)
    kind.check_schema(schema)
    return kind(schema)


class _MetadataValidatorOnce(MetadataValidator, _SchemaCheckedOnce):
    """nbgrader's metadata validator, whose per-cell schema step is ``_SchemaCheckedOnce``'s."""


def _metadata_validator() -> _MetadataValidatorOnce:
    return _MetadataValidatorOnce()


class RestoreDeletedCells(OverwriteCells):
    """``OverwriteCells`` whose re-adding of deleted grade cells works for any notebook.

    nbgrader 0.9.6 re-inserts a deleted grade cell after the cell that preceded it in the
    source, but looks that cell up only among grade and solution cells, so a deleted test
    cell that follows a read-only cell (a visible check, say) stops the whole submission
    with a KeyError. Here the position comes from the release notebook's cell order: after
    the nearest earlier cell the submission still has. The content is nbgrader's own
    master copy from the gradebook, as before.
    """

    def add_missing_grade_cells(self, nb: NotebookNode, resources: dict):
        source_nb = self.gradebook.find_notebook(self.notebook_id, self.assignment_id)
        masters = {c.name: c for c in source_nb.source_cells}
        graded = {c.name: c for c in source_nb.grade_cells}
        solutions = {c.name for c in source_nb.solution_cells}
        release = Path(self.config.CourseDirectory.root or ".") / self.config.CourseDirectory.release_directory
        order = [grade_id(c) for c in nbformat.read(release / self.assignment_id / f"{self.notebook_id}.ipynb", as_version=4).cells]
        for position, gid in enumerate(order):
            if gid not in graded or any(grade_id(c) == gid for c in nb.cells):
                continue
            self.log.warning("Grade cell %s was deleted; restoring it from the gradebook", gid)
            cell = self.missing_cell_transform(masters[gid], graded[gid].max_score, is_solution=gid in solutions)
            at = 0
            for earlier in reversed(order[:position]):
                found = [i for i, c in enumerate(nb.cells) if grade_id(c) == earlier]
                if found:
                    at = found[0] + 1
                    break
            nb.cells.insert(at, cell)
        return nb, resources
