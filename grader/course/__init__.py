"""The course on disk: where nbgrader's steps read and write, and which weeks exist.

A course root holds ``solutions/<week>/`` (source), ``course/<week>/`` (release),
``submitted/<student>/<week>/``, ``autograded/...``, ``feedback/...``, the gradebook,
and ``.grader/`` (our state: Jupyter dirs kept out of $HOME, grading statuses).
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

from ..nbgrader_setup.config import RELEASE_DIRECTORY, SOURCE_DIRECTORY, course_config, prepare_process, state_environment


class GraderError(Exception):
    """An instructor-facing error with a message that says what to do."""


@dataclass(frozen=True)
class Course:
    root: Path

    @classmethod
    def at(cls, root) -> "Course":
        root = Path(root).resolve()
        if not (root / SOURCE_DIRECTORY).is_dir():
            raise GraderError(f"{root} has no {SOURCE_DIRECTORY}/ folder: run the grader from the course root")
        prepare_process()
        return cls(root)

    # ------------------------------------------------------------------ folders
    @property
    def solutions(self) -> Path:
        return self.root / SOURCE_DIRECTORY

    @property
    def release(self) -> Path:
        return self.root / RELEASE_DIRECTORY

    @property
    def state(self) -> Path:
        return self.root / ".grader"

    def submitted(self, student: str, week: str) -> Path:
        return self.root / "submitted" / _checked(student) / week

    def autograded(self, student: str, week: str) -> Path:
        return self.root / "autograded" / _checked(student) / week

    def feedback_dir(self, student: str, week: str) -> Path:
        return self.root / "feedback" / _checked(student) / week

    # ------------------------------------------------------------------ contents
    def weeks(self) -> list[str]:
        """Weeks that have a source notebook, in teaching order: by the number after ``week``
        (``week0_...``, ``week1_...``, ..., ``week9_...``, ``week10_...``), then by name."""
        return sorted((p.name for p in self.solutions.iterdir() if p.is_dir() and any(p.glob("*.ipynb"))), key=week_order)

    def check_week(self, week: str) -> str:
        if week not in self.weeks():
            raise GraderError(f"unknown week {week!r}; the course has: {', '.join(self.weeks()) or 'no weeks'}")
        return week

    def notebook_name(self, week: str) -> str:
        """The file name students must submit, e.g. ``attention.ipynb``."""
        names = sorted(p.name for p in (self.solutions / week).glob("*.ipynb"))
        if len(names) != 1:
            raise GraderError(f"{self.solutions / week} must hold exactly one notebook, found {names}")
        return names[0]

    def students(self, week: str) -> list[str]:
        """Names of the folders holding a submission for ``week`` (not yet checked as ids:
        see ``grader.ids.split_ids``)."""
        base = self.root / "submitted"
        if not base.is_dir():
            return []
        return sorted(p.name for p in base.iterdir() if (p / week).is_dir())

    def environment(self) -> dict:
        """The environment for this course's child processes: Jupyter dirs under ``.grader/``
        (``grader.nbgrader_setup.config.state_environment``); this process's own is never changed."""
        return state_environment(self.state)

    # ------------------------------------------------------------------ nbgrader
    def api(self):
        """An ``NbGraderAPI`` configured for this course (see ``grader.nbgrader_setup.config``)."""
        return _api(self.root)


def week_order(name: str) -> tuple:
    """Sort key of a week folder: ``week10_x`` after ``week9_y``; names without a number last."""
    found = re.match(r"week(\d+)", name)
    return (0, int(found.group(1)), name) if found else (1, 0, name)


def _checked(student: str) -> str:
    """``student`` if it is a valid id (``grader.ids``): no pattern or separator ever names a folder."""
    from ..ids import check_id

    return check_id(student)


@functools.lru_cache(maxsize=8)
def _api(root: Path):
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    config = course_config(root)
    coursedir = CourseDirectory(config=config)
    return NbGraderAPI(coursedir=coursedir, config=config)
