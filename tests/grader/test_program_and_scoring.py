"""Fast tests of the grader's pure parts: finding graded code, prechecks, fail-closed scoring."""
import json

import nbformat
import pytest
from course_helpers import ROOT

from grader.course.authoring import answer, hidden_tests, markdown, new_notebook, readonly
from grader.pipeline.hidden_checks import CellScore, score_cells
from grader.records import CheckRecord, CheckRun
from grader.pipeline.precheck import NotGradable, find_tampering, read_notebook
from grader.pipeline.answers import definitions_only, program_cells, strip_magics


def notebook(*cells):
    return new_notebook(cells)


SOLUTION = "def double(x):\n    return 2 * x"


def test_answer_cells_are_found_by_grade_id_and_setup_cells_run_first():
    nb = notebook(
        readonly("setup", "import math", tags=["setup"]),
        markdown("intro", "text"),
        answer("double", SOLUTION),
        readonly("double_check", "show_result('x', check(double))", tags=["check"]),
        hidden_tests("double_tests", 2, "Exercise 1"),
        readonly("train", "for _ in range(10**9): pass"),
    )
    sources = [src for _, src in program_cells(nb)]
    assert sources == ["import math", SOLUTION]  # no check, no hidden test, no training


def test_retyped_function_in_a_new_cell_is_found_by_name_without_its_experiments():
    nb = notebook(answer("double", "# I moved my answer below"))
    nb.cells.append(nbformat.v4.new_code_cell("import numpy as np\nprint('trying things')\n" + SOLUTION + "\nwhile True:\n    pass"))
    sources = [src for _, src in program_cells(nb)]
    assert sources[1] == "import numpy as np\n\n" + SOLUTION  # definitions only: the loop is left out
    namespace = {}
    for src in sources:
        exec(src, namespace)
    assert namespace["double"](3) == 6


def test_copied_answer_cell_and_split_cells_keep_notebook_order():
    nb = notebook(answer("double", "def helper(x):\n    return x"), answer("double", SOLUTION))
    nb.cells.append(nbformat.v4.new_code_cell("def double(x):\n    return helper(x) * 2"))
    namespace = {}
    for _, src in program_cells(nb):
        exec(src, namespace)
    assert namespace["double"](5) == 10  # the last definition wins, as in the notebook


def test_magics_and_shell_escapes_are_dropped():
    assert strip_magics("%matplotlib inline\n!pip install x\ny = 1") == "\n\ny = 1"
    assert strip_magics("%%timeit\nx = 1") == ""
    assert definitions_only("def f(:\n") == ""


def test_tampered_flags_and_points_are_found():
    source = notebook(answer("double", SOLUTION), hidden_tests("double_tests", 2, "Exercise 1"))
    master = {c.metadata.nbgrader["grade_id"]: (c.cell_type, c.metadata.nbgrader) for c in source.cells}
    honest = nbformat.from_dict(json.loads(json.dumps(source)))
    honest.cells[0].source = "def double(x): return x + x"
    assert find_tampering(honest, master) == []
    cheat = nbformat.from_dict(json.loads(json.dumps(source)))
    cheat.cells[1].metadata.nbgrader["points"] = 100
    cheat.cells[1].metadata.nbgrader["solution"] = True
    problems = find_tampering(cheat, master)
    assert any("points" in p for p in problems) and any("'solution'" in p for p in problems)
    alien = nbformat.from_dict(json.loads(json.dumps(source)))
    alien.cells[0].metadata.nbgrader["grade_id"] = "free_points"
    assert any("not part of this assignment" in p for p in find_tampering(alien, master))


def test_invalid_json_and_invalid_notebooks_are_not_gradable(tmp_path):
    bad = tmp_path / "bad.ipynb"
    bad.write_text('{"cells": [')
    with pytest.raises(NotGradable) as err:
        read_notebook(bad)
    assert err.value.status == "invalid_json"
    bad.write_text('{"cells": "not a list"}')
    with pytest.raises(NotGradable) as err:
        read_notebook(bad)
    assert err.value.status == "invalid_notebook"


def _result(passed, points=1.0, gid="cell"):
    return CheckRecord(nodeid="t", name="t", grade_id=gid, points=points, passed=passed)


def test_partial_credit_adds_the_points_of_passed_checks():
    scores = score_cells({"cell": 3.0}, CheckRun(tests=[_result(True), _result(False), _result(True)]))
    assert scores["cell"].score == 2.0 and not scores["cell"].reason


@pytest.mark.parametrize("results, why", [
    (CheckRun(error="the hidden checks crashed"), "crashed"),
    (CheckRun(tests=[]), "no hidden checks ran"),
    (CheckRun(tests=[_result(True, points=5.0)]), "declare 5 points"),
])
def test_scoring_fails_closed(results, why):
    scores = score_cells({"cell": 3.0}, results)
    assert scores["cell"].score == 0.0
    assert why in scores["cell"].reason


def test_a_cell_score_never_exceeds_its_points():
    cell = CellScore("cell", 1.0)
    scores = score_cells({"cell": 1.0}, CheckRun(tests=[_result(True, 0.5), _result(True, 0.5)]))
    assert scores["cell"].score == 1.0 and cell.score == 0.0


def test_every_configured_preprocessor_runs():
    """A preprocessor in the course's lists that is not ``enabled`` does nothing (nbconvert's are off
    by default): listing one would promise a step that never happens."""
    from traitlets.config import Config

    from grader.nbgrader_setup.config import apply_course_config

    c = Config()
    apply_course_config(c, ROOT)
    lists = [c.Autograde.sanitize_preprocessors, c.Autograde.autograde_preprocessors, c.GenerateFeedback.preprocessors]
    idle = [cls.__name__ for steps in lists for cls in steps if not cls(config=c).enabled]
    assert not idle, f"configured but disabled, so they never run: {idle}"


@pytest.mark.slow  # nbgrader and a new gradebook: seconds
def test_autograde_before_generate_stops_once_with_the_command_to_run(tmp_path, capsys):
    """A fresh clone has course/ but no gradebook: autograde says what to run instead of failing every student."""
    from course_helpers import make_course

    from grader.cli import main

    root = make_course(tmp_path, ["week4_attention"])
    (root / "submitted" / "alice" / "week4_attention").mkdir(parents=True)
    assert main(["--root", str(root), "autograde", "week4_attention"]) == 2
    err = capsys.readouterr().err
    assert "python -m grader generate week4_attention" in err and "not in the gradebook" in err
    assert not (root / ".grader" / "status").exists(), "nobody was graded"


def test_the_default_limits_nest():
    """grader/limits.py: each limit fits inside the one it sits in (autograde refuses overrides that break it)."""
    from grader.limits import nesting_problems

    assert nesting_problems() == []


def _metadata_check_outcome(step, nb) -> str:
    try:
        step.preprocess(nb, {})
        return "valid"
    except Exception as exc:  # the class and message are what the comparison is about
        return f"{type(exc).__name__}: {exc}"


def test_the_cell_metadata_check_agrees_with_nbgraders_own():
    """``CheckCellMetadataOnce`` (its schema prepared once per process) accepts and refuses exactly
    what nbgrader's ``CheckCellMetadata`` does, with the same errors, on the released notebook and
    on copies with one field of one graded cell spoiled."""
    import copy

    from nbgrader.preprocessors import CheckCellMetadata

    from grader.nbgrader_setup.preprocessors import CheckCellMetadataOnce

    release = nbformat.read(ROOT / "course" / "week4_attention" / "attention.ipynb", as_version=4)
    graded = [i for i, c in enumerate(release.cells) if c.metadata.get("nbgrader", {}).get("grade_id")][:4]
    spoilt = [("points", "two"), ("grade", "yes"), ("schema_version", 2), ("schema_version", 4), ("extra", 1),
              ("grade_id", ""), ("grade_id", 5), ("locked", None)]
    cases = [release]
    for index in graded:
        for key, value in spoilt:
            nb = copy.deepcopy(release)
            nb.cells[index].metadata["nbgrader"][key] = value
            cases.append(nb)
    outcomes = [(_metadata_check_outcome(CheckCellMetadata(), nb), _metadata_check_outcome(CheckCellMetadataOnce(), nb))
                for nb in cases]
    assert outcomes[0] == ("valid", "valid")
    assert sum(theirs != "valid" for theirs, _ in outcomes) >= len(graded) * 5  # the spoilt copies are refused
    assert [ours for _, ours in outcomes] == [theirs for theirs, _ in outcomes]


def test_rendered_outputs_are_copied_and_invalid_ones_dropped():
    """Outputs of the jail's notebook reach nbgrader's cells by position when valid; an invalid one
    becomes a note (checked in one pass when all are valid, one by one otherwise)."""
    from grader.nbgrader_setup.preprocessors import copy_outputs

    stream = {"output_type": "stream", "name": "stdout", "text": "hi\n"}
    result = {"output_type": "execute_result", "execution_count": 1, "metadata": {}, "data": {"text/plain": "42"}}
    broken = {"output_type": "stream", "name": "stdout"}  # no text
    for outputs, expected in (([stream, result], ["hi\n", "42"]),
                              ([stream, broken, result], ["hi\n", "[grader: an invalid output was dropped]\n", "42"])):
        ours = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("x"), nbformat.v4.new_code_cell("1")])
        jailed = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("x"), nbformat.v4.new_code_cell("1")])
        jailed.cells[1]["outputs"] = outputs
        copy_outputs(jailed, ours)
        shown = [o.get("text") or o["data"]["text/plain"] for o in ours.cells[1].outputs]
        assert shown == expected
        nbformat.validate(ours)
