"""The notebook runner's report: the record that crosses from ``_nbrunner.py`` (inside the jail)
to ``notebook.py`` (the trusted side).

Standard library only: ``run_notebook`` copies this file into the jail beside the runner (as
``_grader_runner_report.py``), since the jail hides the grader package. ``from_json`` trusts
nothing: a report with a missing or mistyped field is a ``ValueError``.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

STATUSES = ("ok", "timed_out", "kernel_died", "out_of_memory", "error")


@dataclass
class RunnerReport:
    """status: one of ``STATUSES`` (``ok``: every cell ran; cells may still hold errors).
    reason: how it went, for the instructor. cell_errors: ``[{"cell", "ename", "evalue"}]``.
    notebook: the executed notebook, as nbformat JSON text."""

    status: str
    reason: str
    notebook: str
    cell_errors: list = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, text: str | bytes) -> "RunnerReport":
        data = json.loads(text)
        if not isinstance(data, dict) or set(data) != {"status", "reason", "notebook", "cell_errors"}:
            raise ValueError("the runner's report does not have the report's fields")
        report = cls(**data)
        if report.status not in STATUSES or not isinstance(report.reason, str) or not isinstance(report.notebook, str) \
                or not isinstance(report.cell_errors, list):
            raise ValueError("the runner's report has a field of the wrong kind")
        return report
