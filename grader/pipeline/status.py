"""The outcome of grading one submission, kept beside the gradebook.

nbgrader records scores, but not whether a 0 is a real zero or a submission that
could not be graded. Every submission therefore ends with a status record in
``.grader/status/<week>/<student>.json``: ``graded`` or ``not_gradable`` with the
failure kind and a reason, and the warnings (rendering failed or skipped, checks that
hit a limit) that never change a score. The export and the printed summary read these.
"""
from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field, fields

from ..course import Course

GRADED = "graded"
NOT_GRADABLE = "not_gradable"


@dataclass
class Outcome:
    student: str
    week: str
    status: str                 # GRADED or NOT_GRADABLE
    kind: str = ""              # for NOT_GRADABLE: invalid_json, renamed_notebook, timed_out, ...
    reason: str = ""
    score: float = 0.0          # after the late penalty, as the export shows it
    max_score: float = 0.0
    seconds: float = 0.0
    cells: dict = field(default_factory=dict)   # grade_id -> CellScore as a dict
    warnings: list = field(default_factory=list)  # never change a score: rendering failed or skipped, ...
    rendered: bool = False      # the notebook was run to the end for its outputs
    late_penalty: float = 0.0   # points the late policy took

    @classmethod
    def from_dict(cls, data: dict) -> "Outcome":
        """An outcome from its record (fields added since it was written take their defaults)."""
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})

    def to_dict(self) -> dict:
        return asdict(self)


def status_path(course: Course, week: str, student: str):
    from ..ids import check_id

    return course.state / "status" / week / f"{check_id(student)}.json"


def save(course: Course, outcome: Outcome) -> None:
    path = status_path(course, outcome.week, outcome.student)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(outcome.to_dict(), indent=1))
    os.replace(tmp, path)  # atomic: a reader never sees half a record


def load(course: Course, week: str, student: str) -> Outcome | None:
    path = status_path(course, week, student)
    if not path.exists():
        return None
    return Outcome.from_dict(json.loads(path.read_text()))


def load_all(course: Course, week: str | None = None) -> list[Outcome]:
    base = course.state / "status"
    weeks = [week] if week else sorted(p.name for p in base.iterdir()) if base.is_dir() else []
    out = []
    for w in weeks:
        for path in sorted((base / w).glob("*.json")):
            out.append(Outcome.from_dict(json.loads(path.read_text())))
    return out
