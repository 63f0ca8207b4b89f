"""Hidden checks for Exercise 5, ``mlp_forward``, ``cross_entropy`` and ``sgd_step`` (3 points).

Weights are the grader's (never the visible check's public ones); the reference is the
library's ``Tensor`` and ``cross_entropy`` on the same arrays.
"""
import numpy as np
import pytest

from grader.checks.support import array, close, moved, waves
from grader.checks.week0_autograd import reference

pytestmark = pytest.mark.grade_cell("mlp_tests")
D, H, K, N = 6, 5, 4, 4  # the visible check's sizes, other values: a module keyed on shapes cannot lie


def weights(phase, scale=1.0):
    return {"W1": waves((D, H), phase, np.float64) * 0.7 * scale, "b1": waves((H,), phase + 0.3, np.float64) * 0.2,
            "W2": waves((H, K), phase + 0.6, np.float64) * 0.7 * scale, "b2": waves((K,), phase + 0.9, np.float64) * 0.2}


X, Y = waves((N, D), 2.4, np.float64), np.array([1, 0, 3, 2])


@pytest.mark.points(1)
def test_logits(student):
    """MLP: logits relu(X @ W1 + b1) @ W2 + b2 for the weights it is given"""
    first = array(student.call("grader_probe", "mlp", weights(0.15), X, Y)[0])
    assert close(first, reference.mlp(weights(0.15), X, Y)[0], 1e-10, 1e-12), "the logits are wrong"
    second = array(student.call("grader_probe", "mlp", weights(1.45), X, Y)[0])
    assert moved(first, second) and close(second, reference.mlp(weights(1.45), X, Y)[0], 1e-10, 1e-12), \
        "the logits do not follow the weights passed in `params`"


@pytest.mark.points(1)
def test_loss_and_gradients(student):
    """MLP: mean cross-entropy and the gradient of every parameter, also for very large logits"""
    for scale in (1.0, 300.0):
        logits, loss, grads = student.call("grader_probe", "mlp", weights(0.55, scale), X, Y)
        _, ref_loss, ref_grads = reference.mlp(weights(0.55, scale), X, Y)
        what = " with very large logits (subtract each row's maximum before exp)" if scale > 1 else ""
        assert np.all(np.isfinite(array(loss))), f"the loss is not finite{what}"
        assert close(array(loss), ref_loss, 1e-10, 1e-12), f"the loss is wrong{what}"
        for name, ref in ref_grads.items():
            assert close(array(grads[name]), ref, 1e-9, 1e-11), f"the gradient of {name} is wrong{what}"


@pytest.mark.points(1)
def test_sgd(student):
    """SGD: one step moves each parameter by -lr * grad and zeroes its gradient"""
    params, grads = weights(0.8), weights(2.2)
    after, grads_after = student.call("grader_probe", "sgd", params, grads, 0.05)
    for name in params:
        assert close(array(after[name]), params[name] - 0.05 * grads[name], 1e-12, 1e-14), f"{name} did not move by -lr * grad"
        assert not np.any(array(grads_after[name])), f"the gradient of {name} was not reset to zero"
