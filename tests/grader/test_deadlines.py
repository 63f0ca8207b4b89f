"""Due dates and late policies (``grader.course.deadlines``) without grading anything.

A real course root with a real SQLite gradebook; the whole path with grading (the exchange's
timestamps, the penalty after the hidden checks, the feedback page) is ``test_exchange.py``.
"""
from datetime import datetime

import pytest
from course_helpers import ROOT, make_course

from grader.course.collect import collect
from grader.course import Course, GraderError
from grader.course.deadlines import (Lateness, SubtractPerHour, assign_late_penalty, late_plugin, lateness, stamp_feedback,
                              sync_due_date)
from grader.nbgrader_setup.gradebook import locked_gradebook

WEEK = "week4_attention"
NOTEBOOK = (ROOT / "solutions" / WEEK / "attention.ipynb").read_bytes()


@pytest.fixture
def course(tmp_path):
    return Course.at(make_course(tmp_path, [WEEK]))


def configure(course, *lines):
    (course.root / "nbgrader_config.py").write_text("\n".join(["c = get_config()", *lines]) + "\n")


def test_subtract_per_hour_takes_points_for_every_started_hour():
    plugin = SubtractPerHour(points_per_hour=2.0)
    assert plugin.late_submission_penalty("ada", 10.0, 0) is None
    assert plugin.late_submission_penalty("ada", 10.0, 1) == 2.0
    assert plugin.late_submission_penalty("ada", 10.0, 3600) == 2.0
    assert plugin.late_submission_penalty("ada", 10.0, 3601) == 4.0


def test_the_due_date_and_policy_come_from_the_courses_nbgrader_config(course):
    assert sync_due_date(course, WEEK) is None  # nothing configured: no due date
    assert type(late_plugin(course)).__name__ == "LateSubmissionPlugin"  # nbgrader's default: mark, no penalty
    configure(course, 'c.DueDates.due = {"week4_attention": "2026-03-06 17:00:00 Europe/Berlin"}',
              'c.AssignLatePenalties.plugin_class = "grader.course.deadlines.SubtractPerHour"',
              "c.SubtractPerHour.points_per_hour = 2.5")
    assert sync_due_date(course, WEEK) == datetime(2026, 3, 6, 16, 0, 0)  # stored in UTC, as nbgrader does
    with locked_gradebook(course) as gb:
        assert gb.find_assignment(WEEK).duedate == datetime(2026, 3, 6, 16, 0, 0)
    plugin = late_plugin(course)
    assert isinstance(plugin, SubtractPerHour) and plugin.points_per_hour == 2.5
    configure(course, 'c.DueDates.due = {"week4_attention": "next Friday-ish"}')
    with pytest.raises(GraderError, match="is not a date"):
        sync_due_date(course, WEEK)


def test_a_late_submission_is_penalised_within_its_score(course):
    configure(course, 'c.DueDates.due = {"week4_attention": "2026-03-06 17:00:00 UTC"}',
              'c.AssignLatePenalties.plugin_class = "grader.course.deadlines.SubtractPerHour"',
              "c.SubtractPerHour.points_per_hour = 2")
    sync_due_date(course, WEEK)
    submitted = {"ada": datetime(2026, 3, 6, 16, 59), "bob": datetime(2026, 3, 6, 18, 30), "cy": datetime(2026, 3, 7, 9, 0)}
    with locked_gradebook(course) as gb:
        gb.add_notebook("attention", WEEK)
        gb.add_grade_cell("hidden", "attention", WEEK, max_score=10, cell_type="code")
        for student, when in submitted.items():
            gb.update_or_create_student(student)
            gb.add_submission(WEEK, student, timestamp=when)
            gb.find_grade("hidden", "attention", WEEK, student).auto_score = 6.0
        gb.db.commit()
    assert assign_late_penalty(course, WEEK, "ada") == 0.0
    assert assign_late_penalty(course, WEEK, "bob") == 4.0  # two started hours at 2 points
    assert assign_late_penalty(course, WEEK, "cy") == 6.0   # 16 hours: 32 points, but never more than the score
    bob = lateness(course, WEEK, "bob")
    assert bob.seconds_late == 5400 and bob.penalty == 4.0 and bob.text() == "late 1:30:00, -4 pt"
    assert lateness(course, WEEK, "ada").text() == ""
    with locked_gradebook(course) as gb:  # where nbgrader's export, formgrader and feedback read it
        assert gb.find_submission(WEEK, "bob").late_submission_penalty == 4.0


def test_canvas_late_marks_are_kept_and_cleared(course, tmp_path):
    download = tmp_path / "download"
    download.mkdir()
    (download / "ada_late_123_456_attention.ipynb").write_bytes(NOTEBOOK)
    (download / "bob_789_1011_attention.ipynb").write_bytes(NOTEBOOK)
    assert collect(course, WEEK, download).students == ["ada", "bob"]
    ada, bob = lateness(course, WEEK, "ada"), lateness(course, WEEK, "bob")
    assert ada.lms_late and ada.late and ada.text() == "late (LMS; no penalty)"
    assert not bob.late and bob.text() == ""
    (download / "ada_late_123_456_attention.ipynb").rename(download / "ada_123_456_attention.ipynb")
    collect(course, WEEK, download)  # collected again, now on time
    assert not lateness(course, WEEK, "ada").late


def test_the_feedback_page_says_how_late_and_what_it_cost(tmp_path):
    page = tmp_path / "attention.html"
    page.write_text("<html><body class='x'><h4>attention (Score: 16 / 23)</h4></body></html>")
    page.chmod(0o444)
    late = Lateness(datetime(2026, 3, 6, 18, 30), datetime(2026, 3, 6, 17, 0), 5400.0, 3.0)
    stamp_feedback(page, late)
    stamp_feedback(page, late)  # once only
    text = page.read_text()
    assert text.count("grader-lateness") == 1 and text.index("grader-lateness") < text.index("<h4>")
    assert "1:30:00 (h:mm:ss) after the due date 2026-03-06 17:00:00 UTC. Late penalty: 3 point(s)." in text
    assert page.stat().st_mode & 0o777 == 0o444
