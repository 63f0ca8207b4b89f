"""A real course in a temporary folder: solutions copied in, released through nbgrader,
a sample class submitted and graded once per test session (real kernels, real jail,
a real SQLite gradebook), checked to leave nothing behind on the host."""
import os

import pytest
from course_helpers import make_course
from host_traces import nothing_left_behind

from grader.sandbox import sandbox_unavailable_reason

PILOT = "week4_attention"
ONLY_ENV = "GRADER_TEST_PILOT_STUDENTS"  # grade only these samples (comma-separated): test_rootless's shorter class
# Graded without rendering (``render=False``, as ``--no-render``): the samples whose notebook only
# waits out the cell limit when run whole. Their kind (timed_out) comes from the hidden checks; the
# cell limit while rendering is tested by test_a_training_run_past_the_cell_limit_is_a_warning_never_a_zero.
NOT_RENDERED = ("loops-inside", "loops-after", "fork-bomb")


@pytest.fixture(scope="session")
def pilot_course(tmp_path_factory):
    """A released pilot week: ``(Course, samples)`` with every sample graded once."""
    if sandbox_unavailable_reason():
        pytest.skip(sandbox_unavailable_reason())
    from grader.course import Course
    from grader.course.generate import generate
    from grader.pipeline.batch import grade_many
    from grader.demo.sample_class import build_class

    course = Course.at(make_course(tmp_path_factory.mktemp("pilot"), [PILOT]))
    generate(course, [PILOT])
    only = [s for s in os.environ.get(ONLY_ENV, "").split(",") if s]
    samples = build_class(course, PILOT, only=only or None)
    home = tmp_path_factory.mktemp("home")
    with pytest.MonkeyPatch.context() as env, nothing_left_behind(tmp_path_factory.mktemp("tmp")):
        env.setenv("GRADER_CELL_TIMEOUT", "45")  # hostile loops end sooner; the pilot's cells finish well within it
        env.setenv("HOME", str(home))            # grading must leave $HOME untouched
        students = [s.student for s in samples]
        outcomes = grade_many(course, PILOT, [s for s in students if s not in NOT_RENDERED], workers=2, progress=False)
        waiting = [s for s in students if s in NOT_RENDERED]  # all at once: each only waits for its time limit
        outcomes += grade_many(course, PILOT, waiting, workers=max(1, len(waiting)), progress=False, render=False)
    assert list(home.iterdir()) == [], f"grading wrote into $HOME: {list(home.iterdir())}"
    return course, {s.student: s for s in samples}, {o["student"]: o for o in outcomes}
