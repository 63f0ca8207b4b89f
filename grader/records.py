"""The typed records that cross the grader's process boundaries, one per boundary.

Each boundary passes JSON; both sides import the record from here, so a field name is
written once. ``dump`` writes a record, ``load`` reads one back and refuses anything that
is not the record (a missing field, a wrong type): a half-written or forged file becomes
an error with a reason, never a default.

| boundary | writer | reader | record |
|---|---|---|---|
| a request to a stage server | the pipeline | ``python -m grader.pipeline.stage_server`` | ``StageRequest`` |
| nbgrader's autograde step | the stage server (``grader.pipeline.autograde``) | the pipeline | ``StepResult`` |
| the hidden checks | the pytest plugin ``grader.checks.harness`` | ``grader.pipeline.hidden_checks`` | ``CheckRun`` of ``CheckRecord`` |
| a submission's outcome | the pipeline (a thread, a Dask worker) | export, feedback, report | ``grader.pipeline.status.Outcome`` |

The jail's two boundaries keep their own formats, because the code on the far side runs
inside the jail without the grader package: the sandbox codec (``sandbox/codec.py``, copied
into the jail) and the notebook runner's report (``sandbox/_nbrunner.py`` -> ``sandbox/notebook.py``).
"""
from __future__ import annotations

import json
import types
import typing
from dataclasses import asdict, dataclass, field, fields


class RecordError(ValueError):
    """A JSON document that is not the record it should be."""


@dataclass
class StageRequest:
    """One job for a stage server (``grader.pipeline.stage_server``).

    kind ``autograde``: nbgrader's autograde of ``student``'s ``week`` in the course at ``root``
    (rendering the notebook unless ``render`` is False); answered by a ``StepResult``.
    kind ``checks``: the week's hidden checks (or only the files ``tests``) on ``notebook``;
    answered by a ``CheckRun``.
    """

    kind: str
    root: str
    week: str
    student: str = ""
    render: bool = True
    notebook: str = ""
    tests: list[str] = field(default_factory=list)


@dataclass
class StepResult:
    """How nbgrader's autograde step ended for one submission.

    ok:       nbgrader wrote the autograded notebook and the gradebook rows.
    kind:     when not ok, the not-gradable kind (``nbgrader_error``, ...).
    reason:   when not ok, the cause and what to do.
    rendered: the notebook was run in the jail for its outputs (False with ``--no-render``
              or when the run failed).
    warning:  why rendering failed (a cell past its limit, ...): shown on the row, never a score.
    log:      the tail of nbgrader's log, for the instructor.
    """

    ok: bool
    kind: str = ""
    reason: str = ""
    rendered: bool = False
    warning: str = ""
    log: str = ""


@dataclass
class CheckRecord:
    """One hidden check's result, as the pytest plugin saw it.

    failure: ``""`` when it passed; else ``wrong`` (an assertion: the answer is wrong),
    ``error`` (the student's code raised), ``timed_out``, ``kernel_died``, ``out_of_memory``
    (the student's process hit a limit or died) or ``grader`` (the check itself broke).
    """

    nodeid: str
    name: str
    grade_id: str | None
    points: float
    passed: bool
    message: str = ""
    detail: str = ""
    failure: str = ""


@dataclass
class CheckRun:
    """Everything one run of a week's hidden checks reports.

    error:           set when the run itself failed (crashed, timed out, unreadable results);
                     then every cell scores 0 with this reason.
    program_failure: the kind (``timed_out``, ``kernel_died``, ``out_of_memory``) when the
                     student's answers could not even be loaded, so no check could judge them;
                     ``program_reason`` says what happened.
    """

    tests: list[CheckRecord] = field(default_factory=list)
    exitstatus: int = 0
    collected: int = 0
    error: str = ""
    program_failure: str = ""
    program_reason: str = ""
    log: str = ""


def dump(record) -> str:
    return json.dumps(asdict(record), indent=1)


def load(cls, text: str | bytes):
    """The record ``cls`` from JSON ``text``; ``RecordError`` if it is anything else."""
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise RecordError(f"not JSON: {exc}") from None
    return from_dict(cls, data)


def from_dict(cls, data):
    if not isinstance(data, dict):
        raise RecordError(f"{cls.__name__}: expected an object, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    known = {f.name for f in fields(cls)}
    unknown = set(data) - known
    if unknown:
        raise RecordError(f"{cls.__name__}: unknown fields {sorted(unknown)}")
    values = {}
    for f in fields(cls):
        if f.name not in data:
            continue  # the dataclass supplies the default, or raises for a required field below
        values[f.name] = _convert(cls.__name__, f.name, hints[f.name], data[f.name])
    try:
        return cls(**values)
    except TypeError as exc:
        raise RecordError(f"{cls.__name__}: {exc}") from None


def _convert(owner: str, name: str, hint, value):
    origin = typing.get_origin(hint)
    if origin is list:
        (item,) = typing.get_args(hint) or (object,)
        if not isinstance(value, list):
            raise RecordError(f"{owner}.{name}: expected a list")
        return [from_dict(item, v) if isinstance(item, type) and hasattr(item, "__dataclass_fields__") else v for v in value]
    allowed = typing.get_args(hint) if origin in (typing.Union, types.UnionType) else (hint,)
    if value is None and type(None) in allowed:
        return None
    for kind in allowed:
        if kind is float and isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if kind in (str, bool, int, dict) and isinstance(value, kind) and not (kind is int and isinstance(value, bool)):
            return value
    raise RecordError(f"{owner}.{name}: {type(value).__name__} is not {hint}")
