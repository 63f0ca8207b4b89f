"""``python -m utils.check``: "ready to submit" only when checks, training goals and written answers all pass."""
import subprocess
import sys

import nbformat
import pytest
from course_helpers import ROOT

from utils.check import findings, main, ready, report, run_notebook


def _notebook(tmp_path, cells):
    nb = nbformat.v4.new_notebook(cells=cells)
    path = tmp_path / "week.ipynb"
    nbformat.write(nb, path)
    return path


def _check(source):
    return nbformat.v4.new_code_cell(source, metadata={"tags": ["check"]})


def _answer(text):
    return nbformat.v4.new_markdown_cell(text, metadata={"nbgrader": {"grade": True, "solution": True, "grade_id": "r1", "points": 2}})


SETUP = nbformat.v4.new_code_cell("from utils.checks import CheckItem, requires, show_result\nfrom utils.checks.quiz import test_quiz_answered")


def test_everything_passing_is_ready(tmp_path):
    path = _notebook(tmp_path, [
        SETUP,
        _check("show_result('Exercise 1: f', [CheckItem('values', True)])"),
        nbformat.v4.new_code_cell("with requires('Exercise 1 (f)'):\n    accuracy = 0.99\nassert accuracy >= 0.98, 'below the goal'"),
        _answer("Because the gradient vanishes."),
        _check("show_result('Quiz', test_quiz_answered({'q1': 'b'}, questions=1))"),
    ])
    found = findings(run_notebook(path))
    assert [(f.kind, f.passed) for f in found] == [("check", True), ("goal", True), ("answer", True), ("check", True)]
    assert ready(found) and report(found).endswith("ready to submit")
    assert main([str(path)]) == 0


def test_each_gap_is_named_and_blocks_submission(tmp_path, capsys):
    path = _notebook(tmp_path, [
        SETUP,
        _check("show_result('Exercise 1: f', [CheckItem('rows sum to 1', False, 'softmax over the wrong axis?')])"),
        nbformat.v4.new_code_cell("with requires('Exercise 1 (f)'):\n    accuracy = 0.99\nassert accuracy >= 0.98, 'below the goal'"),
        nbformat.v4.new_code_cell("accuracy = 0.5\nassert accuracy >= 0.98, 'below the 98% goal: train longer'"),
        _answer("YOUR ANSWER HERE"),
        _check("show_result('Quiz', test_quiz_answered({'q1': '?'}, questions=1))"),
        _check("undefined_check_function()"),
    ])
    assert main([str(path)]) == 1
    out = capsys.readouterr().out
    assert "[FAIL] Exercise 1: f\n       - rows sum to 1: softmax over the wrong axis?" in out
    assert "Exercise 1: f fails its check; fix it first" in out        # the goal cell that needs it
    assert "AssertionError: below the 98% goal: train longer" in out
    assert "[TODO] written answer r1" in out
    assert '[FAIL] Quiz\n       - q1 answered: still "?"' in out
    assert "NameError" in out
    assert out.rstrip().endswith("0 of 3 checks pass, 0 of 2 training goals met, 1 written answer still empty: not ready to submit yet")


def test_a_notebook_without_checks_is_never_ready(tmp_path):
    path = _notebook(tmp_path, [nbformat.v4.new_code_cell("x = 1")])
    found = findings(run_notebook(path))
    assert not ready(found) and "no visible checks" in report(found)


def test_a_missing_notebook_is_named(tmp_path, capsys):
    assert main([str(tmp_path / "nope.ipynb")]) == 2
    assert "nope.ipynb" in capsys.readouterr().err


@pytest.mark.slow
def test_the_untouched_release_is_not_ready_and_says_why():
    """A real week through the command students run (and ``python -m grader check``, its alias)."""
    path = ROOT / "course" / "week4_attention" / "attention.ipynb"
    run = subprocess.run([sys.executable, "-m", "grader", "check", str(path)], capture_output=True, text=True, timeout=900)
    assert run.returncode == 1, run.stdout + run.stderr
    assert "[FAIL] Exercise 1: scaled dot-product attention" in run.stdout
    assert "[FAIL] training goal" in run.stdout and "[TODO] written answer" in run.stdout
    assert "[FAIL] Quiz" in run.stdout
    assert run.stdout.rstrip().endswith("not ready to submit yet")
