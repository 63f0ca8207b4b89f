"""A real course in a temporary folder: solutions copied in, released through nbgrader,
a sample class submitted and graded once per test session (real kernels, real jail,
a real SQLite gradebook)."""
import os
import shutil
from pathlib import Path

import pytest

from grader.sandbox import sandbox_unavailable_reason

ROOT = Path(__file__).resolve().parents[2]
PILOT = "week4_attention"

# Hostile samples loop until a limit stops them: keep the limits short in tests.
os.environ.setdefault("GRADER_CELL_TIMEOUT", "8")
os.environ.setdefault("GRADER_CHECK_TIMEOUT", "8")
os.environ.setdefault("GRADER_NOTEBOOK_WALL", "240")

needs_sandbox = pytest.mark.skipif(sandbox_unavailable_reason() is not None,
                                   reason=f"the grader's sandbox is unavailable: {sandbox_unavailable_reason()}")


def make_course(base: Path, weeks) -> Path:
    root = base / "course-root"
    for week in weeks:
        shutil.copytree(ROOT / "solutions" / week, root / "solutions" / week)
    return root


@pytest.fixture(scope="session")
def pilot_course(tmp_path_factory):
    """A released pilot week: ``(Course, samples)`` with every sample graded once."""
    if sandbox_unavailable_reason():
        pytest.skip(sandbox_unavailable_reason())
    from grader.course import Course
    from grader.generate import generate
    from grader.parallel import grade_many
    from grader.sample_class import build_class

    course = Course.at(make_course(tmp_path_factory.mktemp("pilot"), [PILOT]))
    generate(course, [PILOT])
    samples = build_class(course, PILOT)
    outcomes = grade_many(course, PILOT, [s.student for s in samples], workers=2, progress=False)
    return course, {s.student: s for s in samples}, {o["student"]: o for o in outcomes}
