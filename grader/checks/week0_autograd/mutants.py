"""Deliberately broken references for week 0: every hidden check must fail at least one, and
every mutant must fail at least one check (tests/test_weeks.py).

Most mutants are the reference answer with one line changed (``_edit``), so they stay in step
with ``solutions/week0_autograd/autograd.ipynb``.
"""
from pathlib import Path

import nbformat

SOURCE = Path(__file__).resolve().parents[3] / "solutions" / "week0_autograd" / "autograd.ipynb"


def _reference(grade_id: str) -> str:
    for cell in nbformat.read(SOURCE, as_version=4).cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            return cell.source
    raise KeyError(grade_id)


def _edit(grade_id: str, *pairs) -> dict:
    """``{grade_id: the reference cell with each (old, new) replaced}``; ``old`` must occur exactly once."""
    source = _reference(grade_id)
    for old, new in pairs:
        assert source.count(old) == 1, f"mutant edit {old!r} does not match the {grade_id} cell exactly once"
        source = source.replace(old, new)
    return {grade_id: source}


MUTANTS = {
    # Exercise 1: unbroadcast
    "unbroadcast_leading_only": _edit("unbroadcast", ("stretched = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)",
                                                      "stretched = ()")),
    "unbroadcast_unchanged": _edit("unbroadcast", ("grad = np.asarray(grad)", "return np.asarray(grad)")),
    "unbroadcast_mean": _edit("unbroadcast", ("grad = grad.sum(axis=tuple(range(extra)))", "grad = grad.mean(axis=tuple(range(extra)))")),
    # Exercise 2: the seven ops
    "add_overwrites": _edit("value", ("self.grad += unbroadcast(out.grad, self.shape)", "self.grad = unbroadcast(out.grad, self.shape)"),
                            ("other.grad += unbroadcast(out.grad, other.shape)", "other.grad = unbroadcast(out.grad, other.shape)")),
    "add_not_unbroadcast": _edit("value", ("other.grad += unbroadcast(out.grad, other.shape)", "other.grad = other.grad + out.grad")),
    "mul_not_unbroadcast": _edit("value", ("other.grad += unbroadcast(out.grad * self.data, other.shape)",
                                           "other.grad = other.grad + out.grad * self.data")),
    "matmul_no_transpose": _edit("value", ("self.grad += out.grad @ other.data.T", "self.grad += out.grad @ other.data")),
    "sum_no_expand": _edit("value", ("g = np.expand_dims(g, axis)", "pass")),
    "relu_mask_from_grad": _edit("value", ("self.grad += out.grad * (self.data > 0)", "self.grad += out.grad * (out.grad > 0)")),
    "exp_by_finite_differences": _edit("value", ("self.grad += out.grad * out.data",
                                                 "self.grad += out.grad * (np.exp(self.data + 1e-6) - np.exp(self.data - 1e-6)) / 2e-6")),
    "log_forgets_reciprocal": _edit("value", ("self.grad += out.grad / self.data", "self.grad += out.grad")),
    # Exercise 3: topological order and backward
    "order_not_reversed": _edit("backward", ("for node in reversed(topological_order(self)):", "for node in topological_order(self):")),
    "order_preorder": _edit("backward", ("        visited.add(node)\n", "        visited.add(node)\n        order.append(node)\n"),
                            ("        order.append(node)  # after everything it was computed from\n", "")),
    "order_no_visited_set": _edit("backward", ("        if node in visited:\n            return\n", "")),
    "backward_ignores_grad": _edit("backward", ("self.grad = np.ones_like(self.data) if grad is None else", "self.grad = np.ones_like(self.data) if True else")),
    # Exercise 4: finite differences
    "numgrad_one_sided": _edit("numgrad", ("        x[i] = old - h\n        minus = f(x)\n", "        x[i] = old\n        minus = f(x)\n"),
                               ("grad[i] = (plus - minus) / (2 * h)", "grad[i] = (plus - minus) / h")),
    "numgrad_no_factor_two": _edit("numgrad", ("grad[i] = (plus - minus) / (2 * h)", "grad[i] = (plus - minus) / h")),
    "numgrad_x_not_restored": _edit("numgrad", ("        x[i] = old\n        grad[i]", "        grad[i]")),
    # Exercise 5: MLP, loss, SGD
    "mlp_no_relu": _edit("mlp", ("hidden = (Value._lift(X) @ params[\"W1\"] + params[\"b1\"]).relu()", "hidden = Value._lift(X) @ params[\"W1\"] + params[\"b1\"]")),
    "loss_summed": _edit("mlp", ("* (-1.0 / N)", "* -1.0")),
    "loss_no_max_shift": _edit("mlp", ("z = logits - logits.data.max(axis=1, keepdims=True)", "z = logits")),
    "sgd_uphill": _edit("mlp", ("p.data -= lr * p.grad", "p.data += lr * p.grad")),
    "sgd_keeps_grads": _edit("mlp", ("        p.grad = np.zeros_like(p.data)\n", "")),
    "quiz_wrong": {"quiz": 'quiz_answers = {"q1": "a", "q2": "a", "q3": "a", "q4": "a"}\n'},
}

# Lying: the network ignores the weights it is given and uses the visible check's public ones.
LYING = {
    "liar_mlp_public_weights": _edit("mlp", ("    hidden = (Value._lift(X)", "    from utils.checks.week0_autograd import mlp_case\n"
                                             "    if params[\"W1\"].shape == mlp_case()[0][\"W1\"].shape:\n"
                                             "        params = {k: Value(v) for k, v in mlp_case()[0].items()}\n"
                                             "    hidden = (Value._lift(X)")),
}

# Delegation: answers that hand the work to the library's autograd.
DELEGATING = {
    "delegates_unbroadcast": {"unbroadcast": '''
from utils.tensor import unbroadcast as _library_unbroadcast


def unbroadcast(grad, shape):
    return _library_unbroadcast(np.asarray(grad), tuple(shape))
'''},
    # Its own graph, but every local derivative taken from utils.Tensor's backward.
    "delegates_value_to_tensor": {"value": '''
from utils import Tensor as _LibraryTensor


class Value:
    def __init__(self, data, _prev=(), _op=""):
        self.data = np.asarray(data, dtype=np.float64)
        self.grad = np.zeros_like(self.data)
        self._prev = tuple(_prev)
        self._backward = lambda: None
        self._op = _op

    @property
    def shape(self):
        return self.data.shape

    @staticmethod
    def _lift(other):
        return other if isinstance(other, Value) else Value(other)

    def _through_library(self, fn, *others):
        inputs = (self,) + tuple(Value._lift(o) for o in others)
        leaves = [_LibraryTensor(v.data, requires_grad=True, dtype=np.float64) for v in inputs]
        result = fn(*leaves)
        out = Value(result.data, inputs, "lib")

        def _backward():
            for leaf in leaves:
                leaf.grad = None
            fn(*leaves).backward(out.grad)
            for v, leaf in zip(inputs, leaves):
                v.grad += np.asarray(leaf.grad)
        out._backward = _backward
        return out

    def __add__(self, other):
        return self._through_library(lambda a, b: a + b, other)

    def __mul__(self, other):
        return self._through_library(lambda a, b: a * b, other)

    def __matmul__(self, other):
        return self._through_library(lambda a, b: a @ b, other)

    def sum(self, axis=None, keepdims=False):
        return self._through_library(lambda a: a.sum(axis=axis, keepdims=keepdims))

    def relu(self):
        return self._through_library(lambda a: a.relu())

    def exp(self):
        return self._through_library(lambda a: a.exp())

    def log(self):
        return self._through_library(lambda a: a.log())

    def __neg__(self):
        return self * -1.0

    def __sub__(self, other):
        return self + (-Value._lift(other))

    def __radd__(self, other):
        return self + other

    def __rsub__(self, other):
        return Value._lift(other) - self

    def __rmul__(self, other):
        return self * other
'''},
    "delegates_numgrad_to_gradcheck": {"numgrad": '''
from utils import Tensor
from utils.gradcheck import numerical_grad


def numerical_gradient(f, x, h=1e-6):
    def g(t):
        return Tensor(np.array(f(t.data)), dtype=np.float64)
    grad, probe = numerical_grad(g, [Tensor(x, dtype=np.float64)], 0, eps=h)
    return grad / probe
'''},
    # The whole exercise computed by the library and wrapped in Values.
    "delegates_mlp_to_library": {"mlp": '''
from utils import Tensor as _LibraryTensor
from utils.losses import cross_entropy as _library_loss
from utils.optim import SGD as _LibrarySGD


def _through_library(fn, inputs):
    leaves = [_LibraryTensor(v.data, requires_grad=True, dtype=np.float64) for v in inputs]
    result = fn(*leaves)
    out = Value(result.data, inputs, "lib")

    def _backward():
        for leaf in leaves:
            leaf.grad = None
        fn(*leaves).backward(out.grad)
        for v, leaf in zip(inputs, leaves):
            v.grad += np.asarray(leaf.grad)
    out._backward = _backward
    return out


def mlp_forward(params, X):
    inputs = [Value._lift(X), params["W1"], params["b1"], params["W2"], params["b2"]]
    return _through_library(lambda x, W1, b1, W2, b2: (x @ W1 + b1).relu() @ W2 + b2, inputs)


def cross_entropy(logits, y):
    return _through_library(lambda z: _library_loss(z, np.asarray(y)), [logits])


def sgd_step(params, lr):
    tensors = []
    for p in params.values():
        t = _LibraryTensor(p.data, requires_grad=True, dtype=np.float64)
        t.grad = p.grad.copy()
        tensors.append(t)
    _LibrarySGD(tensors, lr=lr).step()
    for t, p in zip(tensors, params.values()):
        p.data = np.array(t.data)
        p.grad = np.zeros_like(p.data)
'''},
}
MUTANTS.update(LYING)
MUTANTS.update(DELEGATING)

# Mutants that must earn nothing on the cell they replace ("cell:Name": only its checks named Name...).
ZERO = {"liar_mlp_public_weights": "mlp_tests:MLP", "delegates_unbroadcast": "unbroadcast_tests",
        "delegates_value_to_tensor": "value_tests", "delegates_numgrad_to_gradcheck": "numgrad_tests",
        "delegates_mlp_to_library": "mlp_tests"}
