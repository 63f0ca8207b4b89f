"""The pytest plugin behind every hidden check (loaded with ``-p grader.checks.harness``).

A hidden check is a pytest test in ``grader/checks/<week>/`` that asks the ``student``
fixture — a ``StudentSession`` running the submission's code in the jail — for plain
data, and compares it with a reference itself. Each test carries its points and the
grade cell they count towards::

    pytestmark = pytest.mark.grade_cell("sdpa_tests")

    @pytest.mark.points(1)
    def test_masks_hide_forbidden_keys(student):
        '''Masks: padding and causal masks hide exactly the forbidden keys'''
        ...
        assert ok, "a key the mask forbids still gets weight"

The first line of the docstring is the test's name in feedback; an assertion's message
is what the student reads when it fails (never inputs or expected values). Results go
to the JSON file named by ``--results`` (a ``grader.records.CheckRun``); ``grader.pipeline.hidden_checks``
turns them into scores.
"""
from __future__ import annotations

import traceback
from contextlib import contextmanager
from pathlib import Path
from typing import Sequence

import pytest

from ..limits import CHECK_JAIL, CHECK_RESTARTS, CHECK_START, CHECK_TIMEOUT
from ..records import CheckRecord, CheckRun, dump
from ..sandbox import StudentCrashed, StudentError, StudentSession, StudentTimeout

INTERNAL_ERROR = "this check could not run (an error in the grader, not in your code); your instructor has the details"


def pytest_addoption(parser):
    group = parser.getgroup("grader", "hidden checks")
    group.addoption("--submission", help="the (autograded) notebook whose code is checked")
    group.addoption("--course-root", help="the course root, hidden from student code")
    group.addoption("--results", help="where to write the JSON results")


def pytest_configure(config):
    config.addinivalue_line("markers", "points(n): points this hidden check is worth")
    config.addinivalue_line("markers", "grade_cell(grade_id): the notebook's hidden-test cell this check counts towards")
    config._grader_records = []
    config._grader_program = ("", "")  # (kind, reason) when the student's answers could not be loaded


@contextmanager
def student_session(request, extra: Sequence[str] = ()):
    """A ``StudentSession`` on the submission's code (see ``grader.pipeline.answers``), with the
    source snippets ``extra`` appended (a week's probe functions); skips without ``--submission``."""
    import nbformat

    from ..sandbox.paths import jail_paths
    from ..pipeline.answers import build_program

    opt = request.config.getoption
    submission = opt("--submission")
    if not submission:
        pytest.skip("no --submission given")
    nb = nbformat.read(submission, as_version=4)
    hide, expose = jail_paths(Path(opt("--course-root") or Path(submission).parent))
    with StudentSession(build_program(nb) + list(extra), hide=hide, expose=expose,
                        limits=CHECK_JAIL, request_timeout=CHECK_TIMEOUT, start_timeout=CHECK_START,
                        max_restarts=CHECK_RESTARTS) as session:
        yield session


@pytest.fixture(scope="session")
def student(request):
    """A ``StudentSession`` on the submission's code (see ``grader.pipeline.answers``)."""
    with student_session(request) as session:
        yield session
        failure = session._start_failure
        if isinstance(failure, (StudentTimeout, StudentCrashed)):
            request.config._grader_program = (failure_kind(failure), str(failure)[:300])


def failure_kind(exc) -> str:
    """The ``CheckRecord.failure`` of an exception raised by a check."""
    if isinstance(exc, StudentError):
        return "out_of_memory" if exc.type_name == "MemoryError" else "error"
    if isinstance(exc, StudentTimeout):
        return "timed_out"
    if isinstance(exc, StudentCrashed):
        return "out_of_memory" if "out of memory" in str(exc.reason) else "kernel_died"
    if isinstance(exc, AssertionError):
        return "wrong"
    return "grader"


def student_message(excinfo) -> tuple[str, str]:
    """``(message for the student, detail for the instructor)`` for a failed check."""
    exc = excinfo.value
    detail = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))[-4000:]
    if isinstance(exc, StudentError) and exc.type_name == "NotImplementedError":
        return "not implemented yet: the `YOUR CODE HERE` part still raises NotImplementedError", detail
    if isinstance(exc, StudentError):
        return f"your code raised {exc.type_name}: {str(exc.message)[:300]}", detail
    if isinstance(exc, StudentTimeout):
        return "your code did not finish within the time limit (an endless loop?)", detail
    if isinstance(exc, StudentCrashed):
        return f"your code stopped the process that ran it ({str(exc.reason)[:200]})", detail
    if isinstance(exc, AssertionError):
        text = str(exc).split("\nassert ")[0].strip()
        return (text or "the check failed"), detail
    if isinstance(exc, pytest.skip.Exception):
        return "the check was skipped", detail
    return INTERNAL_ERROR, detail


def _marker_value(item, name, default=None):
    marker = item.get_closest_marker(name)
    return marker.args[0] if marker and marker.args else default


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" or (report.when == "setup" and not report.passed):
        passed = report.passed
        message, detail = ("", "") if passed else student_message(call.excinfo) if call.excinfo else ("the check failed", report.longreprtext)
        failure = "" if passed else failure_kind(call.excinfo.value) if call.excinfo else "grader"
        doc = (item.function.__doc__ or item.name).strip().splitlines()[0]
        item.config._grader_records.append(CheckRecord(
            nodeid=item.nodeid, name=doc, grade_id=_marker_value(item, "grade_cell"),
            points=float(_marker_value(item, "points", 0.0)), passed=bool(passed), message=message, detail=detail,
            failure=failure))


def pytest_sessionfinish(session, exitstatus):
    path = session.config.getoption("--results")
    if path:
        kind, reason = session.config._grader_program
        Path(path).write_text(dump(CheckRun(tests=session.config._grader_records, exitstatus=int(exitstatus),
                                            collected=session.testscollected, program_failure=kind, program_reason=reason)))
