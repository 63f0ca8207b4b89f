"""A stage server grades many students in one process: nothing of one student's run may reach the next.

pytest reuses a test module that is already imported, so a check module's module-level value (a
cache of what the student's code returned, say) would carry from one submission to the next. The
server imports the week's check modules afresh for every run (``forget_check_modules``); this test
grades the reference and then a broken ``train_step`` on one server and needs the second verdict to be
the one a fresh process gives.
"""
import nbformat
import pytest

from grader.course import Course
from grader.demo.sample_class import mutants, with_answers
from grader.pipeline.hidden_checks import cell_test_files, run_checks
from grader.pipeline.stage_server import StageServer, server_for
from grader.records import StageRequest
from grader.sandbox import sandbox_unavailable_reason

from course_helpers import make_course

WEEK = "week8_gans"
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(sandbox_unavailable_reason() is not None, reason=f"no sandbox: {sandbox_unavailable_reason()}")]


def failed_checks(run) -> set[str]:
    assert not run.error and run.tests, f"the checks did not run: {run.error}"
    return {t.name for t in run.tests if not t.passed}


def test_a_stage_server_judges_each_student_afresh(tmp_path):
    course = Course.at(make_course(tmp_path / "course", [WEEK]))
    reference = course.solutions / WEEK / course.notebook_name(WEEK)
    broken = tmp_path / "step_no_detach.ipynb"
    source = nbformat.read(reference, as_version=4)
    nbformat.write(with_answers(source, mutants(WEEK)["step_no_detach"]), broken)
    tests = [str(t) for t in cell_test_files(WEEK, "train_step")]

    fresh = failed_checks(run_checks(WEEK, broken, course.root, tests=tests))  # a pytest process of its own
    assert fresh, "the broken train_step passes every check in a fresh process: the mutant no longer breaks anything"

    server = server_for(course)
    assert isinstance(server, StageServer)
    try:
        def on_server(notebook):
            return server.request(StageRequest("checks", str(course.root), WEEK, notebook=str(notebook), tests=tests), 600)

        assert failed_checks(on_server(reference)) == set(), "the reference fails a train_step check on the server"
        assert failed_checks(on_server(broken)) == fresh, (
            "graded after the reference on the same stage server, the broken train_step got another verdict than "
            "in a fresh process: something of the first student's run reached the second")
    finally:
        server.close()
