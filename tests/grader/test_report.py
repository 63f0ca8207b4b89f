"""``python -m grader report``: the class report, on the graded sample class of the pilot week."""
import re
import subprocess
import sys

import pytest

from grader.pipeline import status as status_store
from grader.course import GraderError
from grader.course.report import render, summarise, write_report

PILOT = "week4_attention"


def test_report_tallies_match_the_status_records(pilot_course):
    course, samples, outcomes = pilot_course
    report = summarise(course, PILOT)
    graded = {s for s, o in outcomes.items() if o["status"] == status_store.GRADED}
    assert {s for s, _, _ in report.graded} == graded
    assert {s for s, _, _ in report.not_gradable} == set(outcomes) - graded
    for exercise in report.exercises:
        full = sum(outcomes[s]["cells"][exercise.grade_id]["score"] >= exercise.max_points for s in graded)
        assert exercise.full_marks == full, exercise
        assert exercise.title.startswith(("Exercise", "the quiz")), exercise.title
    for check in report.checks:
        passed = [t["passed"] for s in graded for c in outcomes[s]["cells"].values() for t in c["tests"] if t["name"] == check.name]
        assert (check.passed, check.ran) == (sum(passed), len(passed)), check.name
    rates = [c.rate for c in report.checks]
    assert rates == sorted(rates), "hardest checks first"
    assert report.mistakes and all(m.students for m in report.mistakes)
    counts = [len(m.students) for m in report.mistakes]
    assert counts == sorted(counts, reverse=True), "commonest mistakes first"


def test_report_page_is_self_contained_and_inert(pilot_course, tmp_path):
    course, samples, outcomes = pilot_course
    path = write_report(course, PILOT, tmp_path / "report.html")
    page = path.read_text()
    assert page.count("data:image/png;base64,") == 2, "histogram and exercise chart embedded"
    assert "<script" not in page.lower() and "Content-Security-Policy" in page
    for student, o in outcomes.items():
        if o["status"] == status_store.NOT_GRADABLE:
            assert student in page and o["kind"] in page
    report = summarise(course, PILOT)
    assert report.mistakes[0].check in page


def test_student_text_is_escaped():
    from grader.course.report import ClassReport, Mistake

    hostile = "<img src=x onerror=alert(1)>"
    report = ClassReport(week=PILOT, graded=[], not_gradable=[("eve", "invalid_json", hostile)],
                         exercises=[], checks=[], mistakes=[Mistake("c", hostile, {"eve"})],
                         similar=[{"student": hostile, "matches": "bob", "share_of_student": "0.97", "share_of_match": "0.91"}],
                         late=[("eve", "late 0:00:05, -3 pt")])
    page = render(report)
    assert hostile not in page and page.count("&lt;img src=x onerror=alert(1)&gt;") == 2  # the reason and the pair
    assert "late 0:00:05, -3 pt" in page


def test_similarity_pairs_appear_when_that_report_exists(tmp_path):
    from course_helpers import make_course

    from grader.course import Course
    from grader.course.report import similar_pairs

    course = Course.at(make_course(tmp_path, [PILOT]))
    assert similar_pairs(course, PILOT) == []
    table = course.root / "similarity" / PILOT / "pairs.csv"
    table.parent.mkdir(parents=True)
    table.write_text("student,matches,share_of_student,share_of_match,common_tokens\nada,bob,0.97,0.91,420\n")
    assert similar_pairs(course, PILOT) == [{"student": "ada", "matches": "bob", "share_of_student": "0.97",
                                             "share_of_match": "0.91", "common_tokens": "420"}]


def test_report_before_grading_says_what_to_run(tmp_path):
    from course_helpers import make_course

    from grader.course import Course

    course = Course.at(make_course(tmp_path, [PILOT]))
    with pytest.raises(GraderError, match=f"python -m grader autograde {PILOT}"):
        summarise(course, PILOT)


def test_report_command_writes_the_page(pilot_course):
    course, _, _ = pilot_course
    run = subprocess.run([sys.executable, "-m", "grader", "--root", str(course.root), "report", PILOT],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert re.search(rf"wrote .*reports/{PILOT}\.html", run.stdout)
    assert (course.root / "reports" / f"{PILOT}.html").is_file()
