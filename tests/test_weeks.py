"""Gates every week must pass, end to end (real nbgrader, real kernels in the jail).

- ``course/`` is exactly what ``generate`` makes of ``solutions/``, and both are output-free;
- the reference solution scores full marks through the real autograde path, and the
  untouched release scores 0 with status ``graded`` (not an error);
- every hidden check fails against at least one deliberately broken reference, and every
  broken reference fails at least one hidden check.
"""
import json
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest

from grader.course import Course
from grader.course.generate import generate
from grader.limits import CHECKS_WALL
from grader.pipeline.hidden_checks import cell_test_files
from grader.pipeline.stage_server import close_all, server_for
from grader.records import StageRequest
from grader.nbgrader_setup.cells import grade_id
from grader.pipeline.batch import grade_many
from grader.demo.sample_class import build_class, mutants, solution_answers, with_answers, zero_mutants
from grader.sandbox import sandbox_unavailable_reason

from course_helpers import make_course

ROOT = Path(__file__).resolve().parents[1]
WEEKS = sorted(p.name for p in (ROOT / "solutions").iterdir() if p.is_dir())
needs_sandbox = pytest.mark.skipif(sandbox_unavailable_reason() is not None, reason=f"no sandbox: {sandbox_unavailable_reason()}")


def notebook_json(path: Path) -> dict:
    return json.loads(path.read_text())


@pytest.mark.parametrize("week", WEEKS)
def test_release_is_exactly_what_generate_makes(week, tmp_path):
    course = Course.at(make_course(tmp_path, [week]))
    generate(course, [week])
    made = sorted(p.relative_to(course.release) for p in (course.release / week).rglob("*") if p.is_file())
    committed = sorted(p.relative_to(ROOT / "course") for p in (ROOT / "course" / week).rglob("*") if p.is_file())
    assert made == committed, "course/ is out of date: run `python -m grader generate` and commit course/"
    for rel in made:
        if rel.suffix == ".ipynb":
            assert notebook_json(course.release / rel) == notebook_json(ROOT / "course" / rel), \
                f"course/{rel} differs from what generate makes: regenerate and commit"


@pytest.mark.parametrize("week", WEEKS)
def test_notebooks_are_stored_without_outputs(week):
    for folder in ("solutions", "course"):
        for path in (ROOT / folder / week).glob("*.ipynb"):
            nb = nbformat.read(path, as_version=4)
            dirty = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and (c.outputs or c.execution_count)]
            assert not dirty, f"{folder}/{week}/{path.name}: cells {dirty} hold outputs; clear them before committing"


@needs_sandbox
@pytest.mark.slow
@pytest.mark.parametrize("week", WEEKS)
def test_reference_scores_full_marks_and_release_scores_zero(week, tmp_path):
    course = Course.at(make_course(tmp_path, [week]))
    generate(course, [week])
    build_class(course, week, only=["perfect", "untouched"])
    outcomes = {o["student"]: o for o in grade_many(course, week, ["perfect", "untouched"], workers=2, progress=False)}
    perfect, untouched = outcomes["perfect"], outcomes["untouched"]
    assert perfect["status"] == "graded", perfect
    for gid, cell in perfect["cells"].items():
        failed = [f"{t['name']}: {t['message']}" for t in cell["tests"] if not t["passed"]]
        assert cell["score"] == cell["max_points"] and not cell["reason"], f"reference lost points in {gid}: {cell['reason']} {failed}"
    assert untouched["status"] == "graded", untouched
    assert all(cell["score"] == 0 for cell in untouched["cells"].values()), untouched["cells"]
    executed = nbformat.read(course.autograded("perfect", week) / course.notebook_name(week), as_version=4)
    errors = [(i, o.get("ename"), o.get("evalue", "")[:200]) for i, c in enumerate(executed.cells) if c.cell_type == "code"
              for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors, f"the reference notebook does not run cleanly end to end: {errors}"
    blank = [i for i, c in enumerate(executed.cells) if c.cell_type == "code"
             and re.search(r"plt\.show\(\)|display\(\s*(plot_|\w+\.plot\()", c.source)
             and not any("image/png" in o.get("data", {}) for o in c.get("outputs", []))]
    assert not blank, f"cells of the reference that draw a plot show no image: {blank}"
    released = nbformat.read(course.autograded("untouched", week) / course.notebook_name(week), as_version=4)
    errors = [(i, o.get("ename"), o.get("evalue", "")) for i, c in enumerate(released.cells) if c.cell_type == "code"
              for o in c.get("outputs", []) if o.get("output_type") == "error"]
    cryptic = [(i, ename, evalue[:120]) for i, ename, evalue in errors
               if ename not in ("CheckFailed", "ExerciseNotReady") or not re.search(r"\b(Exercises?|Quiz)\b", evalue)]
    assert not cryptic, f"cells of the untouched release fail without naming the exercise to finish: {cryptic}"
    verdicts = {o["metadata"]["utils_check"]["title"]: o["metadata"]["utils_check"] for c in released.cells if c.cell_type == "code"
                for o in c.get("outputs", []) if "utils_check" in o.get("metadata", {})}
    assert not any(v["passed"] for v in verdicts.values()), "a visible check passes on the untouched release"
    assert verdicts.get("Quiz", {}).get("failures"), "the quiz's visible check should say what is left"


@needs_sandbox
@pytest.mark.slow
@pytest.mark.parametrize("week", WEEKS)
def test_every_hidden_check_fails_a_broken_reference(week, tmp_path):
    broken = mutants(week)
    assert broken, f"grader/checks/{week}/mutants.py must define broken references (MUTANTS)"
    course = Course.at(make_course(tmp_path, [week]))
    source = nbformat.read(course.solutions / week / course.notebook_name(week), as_version=4)
    answers = solution_answers(course, week)
    for name, replaced in broken.items():
        unknown = set(replaced) - set(answers)
        assert not unknown, f"mutant {name} replaces unknown answer cells {unknown}"
        nbformat.write(with_answers(source, replaced), tmp_path / f"{name}.ipynb")
    zero = zero_mutants(week)  # lying and delegating answers: only their own cell's checks run, and must all fail
    reference = course.solutions / week / course.notebook_name(week)

    def run(name):
        """The checks on one notebook as grading runs them: on this thread's stage server (pytest imported
        once, the check modules afresh each run), the student's code in jails of its own. A check module
        that kept something of one notebook's run would give the next notebook a wrong verdict here."""
        notebook = reference if name is None else tmp_path / f"{name}.ipynb"
        tests = cell_test_files(week, zero[name].partition(":")[0]) if name in zero else []
        request = StageRequest("checks", str(course.root), week, notebook=str(notebook), tests=[str(t) for t in tests])
        return server_for(course).request(request, CHECKS_WALL)

    try:
        with ThreadPoolExecutor(max_workers=2) as pool:  # two runs at a time, each with its own jails
            on_reference = pool.submit(run, None)  # beside the mutants, not after them
            results = dict(zip(broken, pool.map(run, broken)))
            on_reference = on_reference.result()
    finally:
        close_all()  # the stage servers of both threads
    for name, spec in zero.items():  # "cell", or "cell:Name" for the checks of that cell named after one class
        cell, _, prefix = spec.partition(":")
        earned = [t.name for t in results[name].tests if t.grade_id == cell and t.passed and t.name.startswith(prefix)]
        assert not earned and results[name].tests, f"{name} must earn nothing in {spec}, but passed: {earned}"
    caught_by = {}
    for name, result in results.items():
        assert not result.error, f"{name}: {result.error}"
        failed = {t.nodeid for t in result.tests if not t.passed}
        assert failed, f"mutant {name!r} passes every hidden check: the checks cannot tell it from the reference"
        for test in failed:
            caught_by.setdefault(test, []).append(name)
    assert not on_reference.error and on_reference.tests, f"the checks did not run on the reference: {on_reference.error}"
    all_tests = {t.nodeid for t in on_reference.tests}
    never = sorted(all_tests - set(caught_by))
    assert not never, f"hidden checks that no broken reference fails (they cannot fail): {never}"
