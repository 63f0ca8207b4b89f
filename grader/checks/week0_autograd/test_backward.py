"""Hidden checks for Exercise 3, ``topological_order`` and ``Value.backward`` (3 points).

Graphs with shared nodes (``GRAPHS`` in ``utils.checks.week0_autograd``) on grader-chosen arrays;
the reference gradients come from the library's ``Tensor`` running the same graphs.
"""
import numpy as np
import pytest

from grader.checks.support import array, close, waves
from grader.checks.week0_autograd import reference

pytestmark = pytest.mark.grade_cell("backward_tests")


def positive(shape, phase):
    return 1.0 + 0.6 * np.sin(np.arange(int(np.prod(shape))) * 0.41 + phase).reshape(shape)


CASES = {"diamond": [waves((4, 3), 0.33, np.float64), waves((3, 5), 0.77, np.float64) * 0.6],
         "reuse": [positive((3, 2), 0.2) * 0.4, positive((2, 2), 0.9) * 0.5],
         "layer": [waves((6, 2), 0.12, np.float64), waves((2, 3), 1.21, np.float64)]}


def run(student, name, upstream):
    data, grads = student.call("grader_probe", "graph", name, CASES[name], upstream)
    ref_data, ref_grads = reference.graph(name, CASES[name], upstream)
    assert close(array(data), ref_data, 1e-10, 1e-12), f"the '{name}' graph computes a wrong output"
    for k, (got, want) in enumerate(zip(grads, ref_grads)):
        assert close(array(got), want, 1e-9, 1e-11), f"backward through the '{name}' graph gives input {k + 1} a wrong gradient"


@pytest.mark.points(1)
def test_order(student):
    """Order: every Value once, each after the Values it was computed from"""
    for name in ("diamond", "reuse"):
        report = student.call("grader_probe", "order", name, CASES[name])
        assert report["missing"] == 0, f"topological_order leaves out Values of the '{name}' graph"
        assert report["length"] == report["unique"], f"topological_order lists some Values of the '{name}' graph more than once"
        assert report["inputs_first"], f"topological_order puts a Value before a Value it was computed from (the '{name}' graph)"


@pytest.mark.points(1)
def test_shared_nodes(student):
    """Shared nodes: gradients through Values used several times, along branches of different depth"""
    run(student, "diamond", waves((5,), 1.9, np.float64))
    run(student, "reuse", waves((3, 2), 2.3, np.float64))


@pytest.mark.points(1)
def test_seed(student):
    """Seeding: backward() on a scalar starts from 1, backward(grad) from the gradient given"""
    run(student, "layer", None)
    run(student, "diamond", 3.0 * waves((5,), 0.6, np.float64))
