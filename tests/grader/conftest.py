"""A real course in a temporary folder: solutions copied in, released through nbgrader,
a sample class submitted and graded once per test session (real kernels, real jail,
a real SQLite gradebook)."""
import pytest
from course_helpers import make_course

from grader.sandbox import sandbox_unavailable_reason

PILOT = "week4_attention"


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
    home = tmp_path_factory.mktemp("home")
    with pytest.MonkeyPatch.context() as env:
        env.setenv("GRADER_CELL_TIMEOUT", "45")  # hostile loops end sooner; the pilot's cells finish well within it
        env.setenv("HOME", str(home))            # grading must leave $HOME untouched
        outcomes = grade_many(course, PILOT, [s.student for s in samples], workers=2, progress=False)
    assert list(home.iterdir()) == [], f"grading wrote into $HOME: {list(home.iterdir())}"
    return course, {s.student: s for s in samples}, {o["student"]: o for o in outcomes}
