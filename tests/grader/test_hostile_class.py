"""Attacks on the class as a whole, on the pilot class's real gradebook: ids that are patterns
or carry whitespace, and a feedback run that one student's text (or one leaking page) could stop."""
import shutil

import nbformat
import pytest

from grader.pipeline import status as status_store
from grader.cli import main
from grader.course.feedback import WITHHELD, feedback_page, generate_feedback
from grader.nbgrader_setup.gradebook import locked_gradebook
from grader.pipeline.hidden_checks import checks_dir
from grader.pipeline.batch import grade_many
from grader.demo.sample_class import hidden_test_name

PILOT = "week4_attention"


def gradebook_rows(course, students) -> dict:
    """``{(student, cell): (auto, manual, needs manual grade)}`` for every graded cell, from nbgrader's gradebook."""
    rows = {}
    with locked_gradebook(course) as gb:
        for student in students:
            try:
                nb = gb.find_submission_notebook("attention", PILOT, student)
            except Exception:
                continue
            for g in nb.grades:
                rows[(student, g.cell.name)] = (g.auto_score, g.manual_score, g.needs_manual_grade)
    return rows


def test_pattern_and_whitespace_ids_grade_nobody_and_a_regrade_changes_only_its_student(pilot_course, capsys):
    course, samples, outcomes = pilot_course
    everybody = sorted(samples)
    before = gradebook_rows(course, everybody)
    assert sum(1 for (s, _), (auto, _, _) in before.items() if s == "perfect" and auto) > 0
    statuses = {s: status_store.load(course, PILOT, s) for s in everybody}
    stub = course.release / PILOT / course.notebook_name(PILOT)
    hostile = [course.root / "submitted" / name / PILOT for name in ("*", "perfect ", "[a-z]*")]
    try:
        for folder in hostile:  # each holds the untouched stub: graded as anybody, it would zero them
            folder.mkdir(parents=True)
            shutil.copy(stub, folder / stub.name)
        for bad in ("*", "perfect ", "[a-z]*"):
            assert main(["--root", str(course.root), "autograde", PILOT, "--student", bad]) == 2
            assert "refusing student id" in capsys.readouterr().err
        assert gradebook_rows(course, everybody) == before
        again = grade_many(course, PILOT, ["partial"], workers=1, progress=False)[0]
        assert again["score"] == outcomes["partial"]["score"]
    finally:
        for folder in hostile:
            shutil.rmtree(folder.parent)
    after = gradebook_rows(course, everybody)
    assert {k: v for k, v in after.items() if k[0] != "partial"} == {k: v for k, v in before.items() if k[0] != "partial"}
    assert {k: v for k, v in after.items() if k[0] == "partial"} == {k: v for k, v in before.items() if k[0] == "partial"}
    for student in everybody:
        if student != "partial":
            assert status_store.load(course, PILOT, student) == statuses[student], student


def test_a_hidden_check_name_in_an_answer_trips_nothing_and_a_leaking_page_is_withheld_alone(pilot_course):
    course, _, _ = pilot_course
    guessed = hidden_test_name(PILOT)
    submitted = nbformat.read(course.submitted("injects-script", PILOT) / course.notebook_name(PILOT), as_version=4)
    assert any(f"def {guessed}(student):" in c.source for c in submitted.cells if c.cell_type == "markdown")
    # a grader bug that would show a hidden check's code: pasted into partial's autograded notebook
    stored = course.autograded("partial", PILOT) / course.notebook_name(PILOT)
    kept = stored.read_bytes()
    check_source = next(checks_dir(PILOT).glob("test_*.py")).read_text()
    nb = nbformat.reads(kept.decode(), as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("print(open(check).read())", outputs=[
        nbformat.v4.new_output("stream", name="stdout", text=check_source)]))
    try:
        nbformat.write(nb, stored)
        written = generate_feedback(course, PILOT, ["injects-script", "partial", "perfect"])
    finally:
        stored.write_bytes(kept)
    assert written["injects-script"].endswith(".html") and written["perfect"].endswith(".html"), written
    assert written["partial"].startswith(WITHHELD) and "hidden-check code" in written["partial"]
    assert not feedback_page(course, PILOT, "partial").exists()
    assert f"def {guessed}" in feedback_page(course, PILOT, "injects-script").read_text()
    assert generate_feedback(course, PILOT, ["partial"])["partial"].endswith(".html")  # the real page is fine


@pytest.mark.parametrize("bad", ["*", "perfect "])
def test_feedback_refuses_a_pattern_id(pilot_course, capsys, bad):
    course, _, _ = pilot_course
    assert main(["--root", str(course.root), "feedback", PILOT, "--student", bad]) == 2
    assert "refusing student id" in capsys.readouterr().err
