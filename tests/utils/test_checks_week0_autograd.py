"""Week 0 visible checks: they pass on the reference answers and name each listed mistake on the
broken references of ``grader/checks/week0_autograd/mutants.py`` (one line changed each)."""
import contextlib
import io
from pathlib import Path

import nbformat
import numpy as np
import pytest

from grader.checks.week0_autograd.mutants import MUTANTS
from grader.nbgrader_setup.cells import grade_id
from grader.pipeline.answers import program_cells
from utils.checks import week0_autograd as checks

SOURCE = Path(__file__).resolve().parents[2] / "solutions" / "week0_autograd" / "autograd.ipynb"


def namespace(replaced=None) -> dict:
    """What the notebook's setup and answer cells define, with ``replaced`` answers swapped in."""
    nb = nbformat.read(SOURCE, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code" and grade_id(cell) in (replaced or {}):
            cell.source = replaced[grade_id(cell)]
    ns = {"__name__": "week0_check_test"}
    with contextlib.redirect_stdout(io.StringIO()):
        for label, source in program_cells(nb):
            exec(compile(source, label, "exec"), ns)
    return ns


def run_all(ns) -> dict:
    return {
        "unbroadcast": checks.test_unbroadcast(ns["unbroadcast"]),
        "value": checks.test_value_ops(ns["Value"]),
        "backward": checks.test_backward(ns["Value"], ns["topological_order"]),
        "numgrad": checks.test_numerical_gradient(ns["numerical_gradient"]),
        "mlp": checks.test_mlp(ns["Value"], ns["mlp_forward"], ns["cross_entropy"], ns["sgd_step"]),
    }


def failed_text(result) -> str:
    assert not result.passed, result
    return " ".join(f"{item.name}: {item.message}" for item in result.failed_items)


def test_reference_answers_pass():
    for name, result in run_all(namespace()).items():
        assert result.passed, (name, result)


@pytest.mark.parametrize("mutant, check, says", [
    # the five mistakes the issue lists, each named in plain words
    ("add_overwrites", "value", "gradient not accumulated"),
    ("add_not_unbroadcast", "value", "broadcasting not undone"),
    ("order_preorder", "backward", "wrong topological order"),
    ("matmul_no_transpose", "value", "missing a transpose"),
    ("log_forgets_reciprocal", "value", "forgot the 1/x"),
    # and more
    ("mul_not_unbroadcast", "value", "broadcasting not undone"),
    ("unbroadcast_unchanged", "unbroadcast", "broadcasting not undone"),
    ("order_no_visited_set", "backward", "more than once"),
    ("order_not_reversed", "backward", "reversed(topological_order(self))"),
    ("numgrad_one_sided", "numgrad", "one-sided difference"),
    ("numgrad_no_factor_two", "numgrad", "factor of 2"),
    ("numgrad_x_not_restored", "numgrad", "x changed"),
    ("loss_summed", "mlp", "summed over the batch"),
    ("loss_no_max_shift", "mlp", "subtract each row's largest logit"),
    ("sgd_uphill", "mlp", "went uphill"),
    ("sgd_keeps_grads", "mlp", "grad back to zeros"),
    ("delegates_value_to_tensor", "value", "write this yourself"),
    ("delegates_unbroadcast", "unbroadcast", "write this yourself"),
    ("delegates_numgrad_to_gradcheck", "numgrad", "write this yourself"),
    ("delegates_mlp_to_library", "mlp", "write this yourself"),
])
def test_each_mistake_is_named(mutant, check, says):
    ns = namespace(MUTANTS[mutant])
    runner = {"unbroadcast": lambda: checks.test_unbroadcast(ns["unbroadcast"]),
              "value": lambda: checks.test_value_ops(ns["Value"]),
              "backward": lambda: checks.test_backward(ns["Value"], ns["topological_order"]),
              "numgrad": lambda: checks.test_numerical_gradient(ns["numerical_gradient"]),
              "mlp": lambda: checks.test_mlp(ns["Value"], ns["mlp_forward"], ns["cross_entropy"], ns["sgd_step"])}[check]
    assert says in failed_text(runner())


def test_a_later_check_names_the_broken_ops():
    ns = namespace(MUTANTS["log_forgets_reciprocal"])
    text = failed_text(checks.test_backward(ns["Value"], ns["topological_order"]))
    assert "Exercise 2 (Value) fails its check; fix it first" in text


def test_probe_reaches_the_engine_with_plain_data_only():
    ns = namespace()
    data, grads = ns["grader_probe"]("op", "mul", [np.ones((2, 3)), np.full((3,), 2.0)], np.ones((2, 3)), None, False, {})
    assert isinstance(data, np.ndarray) and [g.shape for g in grads] == [(2, 3), (3,)]
    assert np.allclose(grads[1], 2.0)
    with pytest.raises(NameError, match="numerical_gradient"):
        checks.probe({}, "numgrad", np.ones(2), np.ones(2))
