"""The grader end to end on the pilot week: real nbgrader, real kernels in the jail,
hidden checks in their own process, a real SQLite gradebook."""
import csv
import html
import os
import shutil
import sqlite3
import subprocess
import sys

import nbformat
import pytest
from course_helpers import ROOT

from grader.pipeline import status as status_store
from grader.course.export import rows, write_csv
from grader.nbgrader_setup.gradebook import gradebook_totals, locked_gradebook
from grader.pipeline.hidden_checks import hidden_cells
from grader.nbgrader_setup.preprocessors import PIPELINE_ENV
from grader.pipeline.batch import grade_many
from grader.demo.sample_class import FULL, PARTIAL, ZERO

PILOT = "week4_attention"


def autograded_points(course, student):
    """``(score, max score)`` of the student's hidden-test cells, read from nbgrader's gradebook."""
    source = nbformat.read(course.solutions / PILOT / course.notebook_name(PILOT), as_version=4)
    hidden = set(hidden_cells(source))
    with locked_gradebook(course) as gb:
        nb = gb.find_submission_notebook("attention", PILOT, student)
        grades = [g for g in nb.grades if g.cell.name in hidden]
        assert len(grades) == len(hidden)
        return sum(g.auto_score or 0.0 for g in grades), sum(g.max_score for g in grades)


def test_every_sample_gets_what_it_deserves(pilot_course):
    course, samples, outcomes = pilot_course
    wrong = []
    for student, sample in samples.items():
        o = outcomes[student]
        got = o["status"] if o["status"] != status_store.GRADED else "graded"
        if sample.expect in (FULL, ZERO, PARTIAL):
            auto, auto_max = autograded_points(course, student)
            auto = auto or 0.0
            if got != "graded":
                wrong.append(f"{student}: expected graded, got {o['kind']}: {o['reason']}")
            elif sample.expect == FULL and auto != auto_max:
                wrong.append(f"{student}: expected full marks, got {auto}/{auto_max} ({o['cells']})")
            elif sample.expect == ZERO and auto != 0:
                wrong.append(f"{student}: expected 0, got {auto}/{auto_max}")
            elif sample.expect == PARTIAL and not 0 < auto < auto_max:
                wrong.append(f"{student}: expected partial credit, got {auto}/{auto_max}")
        else:
            if o["status"] != status_store.NOT_GRADABLE or o["kind"] != sample.expect:
                wrong.append(f"{student}: expected not gradable ({sample.expect}), got {o['status']} {o['kind']}: {o['reason']}")
            if o["score"] != 0:
                wrong.append(f"{student}: not gradable but scored {o['score']}")
    assert not wrong, "\n".join(wrong)


def test_not_gradable_submissions_are_zero_with_a_reason_in_the_export(pilot_course, tmp_path):
    course, samples, _ = pilot_course
    table = write_csv(course, tmp_path / "grades.csv", PILOT)
    with open(tmp_path / "grades.csv") as f:
        exported = list(csv.DictReader(f))
    assert {r["student"] for r in exported} == set(samples)
    for r in exported:
        assert r["status"] in (status_store.GRADED, status_store.NOT_GRADABLE)
        if r["status"] == status_store.NOT_GRADABLE:
            assert float(r["score"]) == 0 and r["reason"] and r["kind"], r
            # the cause and what to do, never a pointer to a traceback nobody sees
            assert "traceback" not in r["reason"].lower() and "Please see" not in r["reason"], r
            assert "python -m grader" in r["reason"] or "ask the student" in r["reason"].lower(), r
    assert len(table) == len(samples)


def test_hostile_code_could_not_touch_the_gradebook_or_the_secrets(pilot_course):
    course, samples, outcomes = pilot_course
    for student in ("writes-gradebook", "reads-solutions", "patches-numpy", "redefines-builtins"):
        score, _, _ = gradebook_totals(course, PILOT, student)
        assert score == 0, f"{student} scored {score}"
    # the perfect student's grade survived everyone else's attempts
    auto, auto_max = autograded_points(course, "perfect")
    assert auto == auto_max
    db = sqlite3.connect(course.root / "gradebook.db")
    biggest = max(float(nbformat_points) for nbformat_points in _points(course))
    assert db.execute("SELECT MAX(auto_score) FROM grade").fetchone()[0] <= biggest


def _points(course):
    source = nbformat.read(course.solutions / PILOT / course.notebook_name(PILOT), as_version=4)
    return hidden_cells(source).values()


def test_plain_nbgrader_autograde_is_refused_and_keeps_the_scores(pilot_course):
    """Formgrader's Autograde button runs plain nbgrader, which would score every hidden check 0."""
    course, _, outcomes = pilot_course
    shutil.copy(ROOT / "nbgrader_config.py", course.root)  # as in a real course root
    before = {r["student"]: r["score"] for r in rows(course, PILOT)}["partial"]
    assert before > 0
    env = {k: v for k, v in os.environ.items() if k != PIPELINE_ENV}
    run = subprocess.run([sys.executable, "-m", "nbgrader", "autograde", PILOT, "--student", "partial", "--force"],
                         cwd=course.root, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode != 0 and "python -m grader autograde" in run.stdout + run.stderr
    assert {r["student"]: r["score"] for r in rows(course, PILOT)}["partial"] == before
    again = grade_many(course, PILOT, ["partial"], workers=1, progress=False)[0]  # restores nbgrader's autograded copy
    assert again["score"] == outcomes["partial"]["score"]
    assert (course.autograded("partial", PILOT) / course.notebook_name(PILOT)).exists()


def test_regrading_one_student_is_idempotent(pilot_course):
    course, _, outcomes = pilot_course
    before = {s: (outcomes[s]["score"], outcomes[s]["cells"]) for s in ("perfect", "partial")}
    again = grade_many(course, PILOT, ["perfect", "partial"], workers=1, progress=False)
    after = {o["student"]: (o["score"], o["cells"]) for o in again}
    assert after == before
    assert {r["student"]: r["score"] for r in rows(course, PILOT)}["perfect"] == before["perfect"][0]


def test_feedback_shows_hidden_results_but_never_their_source(pilot_course):
    from grader.course.feedback import feedback_page, generate_feedback, hidden_check_fingerprints

    course, samples, outcomes = pilot_course
    written = generate_feedback(course, PILOT, ["perfect", "partial", "broken-json"])
    assert "not graded" in written["broken-json"]
    page = html.unescape(feedback_page(course, PILOT, "partial").read_text())
    partial_tests = [t for cell in outcomes["partial"]["cells"].values() for t in cell["tests"]]
    assert any(not t["passed"] for t in partial_tests) and any(t["passed"] for t in partial_tests)
    for test in partial_tests:
        assert test["name"] in page
        if not test["passed"]:
            assert test["message"] in page
    assert "fail" in page and "pass" in page
    for fingerprint in hidden_check_fingerprints(PILOT):
        assert fingerprint not in page
    assert "BEGIN HIDDEN TESTS" not in page and "student.call" not in page


def test_a_dask_cluster_grades_the_same_jobs_the_same_way(pilot_course):
    distributed = pytest.importorskip("distributed")
    course, _, outcomes = pilot_course
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=True, host="127.0.0.1",
                                  dashboard_address=None) as cluster:
        again = grade_many(course, PILOT, ["perfect", "untouched"], scheduler=cluster.scheduler_address, progress=False)
    for o in again:
        assert (o["status"], o["score"], o["cells"]) == (outcomes[o["student"]]["status"], outcomes[o["student"]]["score"],
                                                         outcomes[o["student"]]["cells"])


def test_a_training_run_past_the_cell_limit_is_a_warning_never_a_zero(pilot_course, monkeypatch, tmp_path):
    """Points come from the hidden checks alone: a right answer whose notebook cannot be run to the
    end within the limits (training past the cell limit on a slow machine) keeps full marks, with a warning;
    ``--no-render`` grades the same without running the notebook; ``render`` adds the outputs later."""
    from grader.course.feedback import feedback_page, generate_feedback
    from grader.pipeline.submission import grade_submission
    from grader.pipeline.render import render_submission

    course, _, outcomes = pilot_course
    full = outcomes["perfect"]["score"]  # every autograded point (the written answers wait for a person)
    assert full > 0
    new = ("slow-laptop", "no-render")
    try:
        for student in new:
            shutil.copytree(course.submitted("perfect", PILOT), course.submitted(student, PILOT))
        # limits no machine renders this notebook within (the reference needs seconds to train), as a
        # slow laptop's settings would be on the grading machine
        monkeypatch.setenv("GRADER_CELL_TIMEOUT", "1")
        monkeypatch.setenv("GRADER_NOTEBOOK_WALL", "3")
        slow = grade_submission(course.root, PILOT, "slow-laptop")
        assert (slow["status"], slow["score"], slow["rendered"]) == (status_store.GRADED, full, False), slow
        assert autograded_points(course, "slow-laptop")[0] == autograded_points(course, "perfect")[0]
        assert len(slow["warnings"]) == 1 and slow["warnings"][0].startswith("rendering: the notebook"), slow["warnings"]
        row = {r["student"]: r for r in rows(course, PILOT)}["slow-laptop"]
        assert row["status"] == status_store.GRADED and row["warnings"].startswith("rendering:") and row["score"] == full
        page = feedback_page(course, PILOT, "slow-laptop")
        assert generate_feedback(course, PILOT, ["slow-laptop"])["slow-laptop"] == str(page)
        text = html.unescape(page.read_text())
        assert "The points come from the hidden checks" in text and "instructor:" not in text

        quick = grade_submission(course.root, PILOT, "no-render", render=False)
        assert (quick["status"], quick["score"], quick["cells"]) == (status_store.GRADED, full, outcomes["perfect"]["cells"])
        assert quick["warnings"][0].startswith("not rendered")
        notebook = nbformat.read(course.autograded("no-render", PILOT) / course.notebook_name(PILOT), as_version=4)
        plain = [c for c in notebook.cells if c.cell_type == "code" and not c.source.startswith("# Hidden checks")]
        assert plain and not any(c.outputs for c in plain), "nothing ran: no outputs"

        monkeypatch.setenv("GRADER_CELL_TIMEOUT", "120")
        monkeypatch.setenv("GRADER_NOTEBOOK_WALL", "400")
        later = render_submission(course, PILOT, "no-render")
        assert later.rendered and later.warnings == [] and later.score == full, later.warnings
        notebook = nbformat.read(course.autograded("no-render", PILOT) / course.notebook_name(PILOT), as_version=4)
        assert any(c.outputs for c in notebook.cells if c.cell_type == "code" and not c.source.startswith("# Hidden"))
        assert autograded_points(course, "no-render")[0] == autograded_points(course, "perfect")[0]
    finally:  # the other tests see the sample class as it was
        for student in new:
            shutil.rmtree(course.root / "submitted" / student, ignore_errors=True)
            (course.state / "status" / PILOT / f"{student}.json").unlink(missing_ok=True)
