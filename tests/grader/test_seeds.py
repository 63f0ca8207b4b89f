"""``python -m grader seeds``: training goals checked over several seeds."""
import nbformat
import numpy as np
import pytest

from grader.course import GraderError
from grader.course.seeds import GOAL, count_goals, goal_notebook, reseed, run_seed


def test_reseed_shifts_training_seeds_but_not_the_data():
    source = ("X_tr, X_te = train_test_split(X, y, seed=0)\nnp.random.seed(3)\n"
              "loader = DataLoader(X_tr, y_tr, batch_size=32, shuffle=True, seed=0)\n")
    assert reseed(source, 0) == source
    shifted = reseed(source, 2)
    assert "np.random.seed(2003)" in shifted and "shuffle=True, seed=2000)" in shifted
    assert "train_test_split(X, y, seed=0)" in shifted


@pytest.mark.parametrize("line, lhs, op, rhs", [
    ('assert test_accuracy >= 0.98, "below the goal"', "test_accuracy", ">=", "0.98"),
    ('    assert model_mse <= 0.5 * baseline_mse, "at most half"', "model_mse", "<=", "0.5 * baseline_mse"),
])
def test_goal_lines_are_found(line, lhs, op, rhs):
    found = GOAL.search(line)
    assert (found["lhs"], found["op"], found["rhs"]) == (lhs, op, rhs)


def _notebook(tmp_path, body):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import numpy as np"),
                                         nbformat.v4.new_code_cell(body),
                                         nbformat.v4.new_code_cell("raise RuntimeError('after the goal: never run')")])
    path = tmp_path / "week.ipynb"
    nbformat.write(nb, path)
    return path


def test_goal_notebook_stops_at_the_goal(tmp_path):
    nb = nbformat.read(_notebook(tmp_path, "acc = 0.9\nassert acc >= 0.5, 'goal'"), as_version=4)
    cut = goal_notebook(nb, 1)
    assert len(cut.cells) == 3 and "after the goal" not in "".join(c.source for c in cut.cells)
    assert "assert" not in cut.cells[1].source


def test_a_later_goal_is_reached_past_the_earlier_ones():
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("err = 0.1\nassert err <= 0.2, 'first'"),
                                         nbformat.v4.new_code_cell("np.random.seed(2)\nelbo = -3\nassert elbo >= -5, 'second'"),
                                         nbformat.v4.new_code_cell("assert 1 >= 2, 'never run'")])
    assert count_goals(nb) == 3
    cut = goal_notebook(nb, 1, goal_index=1)
    assert len(cut.cells) == 3
    assert "assert err <= 0.2" in cut.cells[0].source, "an earlier goal stays an assert"
    assert "__goal__ = (float(elbo), float(-5), '>=')" in cut.cells[1].source and "np.random.seed(1002)" in cut.cells[1].source
    assert goal_notebook(nb, 0, goal_index=3) is None


def test_a_run_reports_the_metric_per_seed_in_a_real_kernel(tmp_path):
    body = "np.random.seed(0)\nacc = 0.5 + np.random.rand() / 2\nassert acc >= 0.75, 'below the goal'"
    runs = [run_seed(_notebook(tmp_path, body), s) for s in (0, 1)]
    expected = [0.5 + np.random.RandomState(1000 * s).rand() / 2 for s in (0, 1)]
    assert [r.metric for r in runs] == pytest.approx(expected)
    assert all(r.goal == 0.75 and r.op == ">=" for r in runs)
    assert [r.margin >= 0 for r in runs] == [e >= 0.75 for e in expected]


def test_a_failing_run_is_reported_not_raised(tmp_path):
    run = run_seed(_notebook(tmp_path, "x = 1 / 0\nassert x >= 1, 'goal'"), 0)
    assert run.metric is None and "ZeroDivisionError" in run.error


def test_a_notebook_without_a_goal_is_refused(tmp_path):
    with pytest.raises(GraderError, match="no goal"):
        run_seed(_notebook(tmp_path, "x = 1"), 0)
