"""Visible checks for week 0 (build an autograd engine). Each runs in well under a second.

The student's engine is a class ``Value`` (an array, its ``grad``, the ``_prev`` Values it was
computed from and a ``_backward`` closure), the function ``unbroadcast``, ``topological_order``
with ``Value.backward``, ``numerical_gradient`` and a two-layer MLP. Cases are deterministic
(no RNG) with distinct sizes per axis. Expected outputs are goldens
(``goldens/week0_autograd.npz``, made by ``golden_cases`` from the reference answers), never
reference code. Mistakes named: a gradient overwritten instead of accumulated (``=`` for
``+=``), broadcasting not undone, a wrong topological order, ``matmul``'s backward without a
transpose, ``log``'s backward without ``1/x``, a one-sided finite difference, a loss summed
instead of averaged, an SGD step that does not zero the gradients.

``probe`` is how the grader's hidden checks reach a notebook's engine from outside: they send
plain arrays and get plain arrays back (the notebook's setup cell defines ``grader_probe``).
"""
from __future__ import annotations

import numpy as np

from .delegation import active, exercise, forbids
from .result import CheckItem, CheckResult, check_close, earlier_exercise_failing, run_student
from .stored import load_goldens, prefixed, section

WEEK = "week0_autograd"


def waves(shape, phase: float = 0.0) -> np.ndarray:
    """Deterministic, non-degenerate float64 values of ``shape`` (no RNG involved)."""
    n = int(np.prod(shape))
    k = np.arange(n)
    return (np.sin(k * 0.37 + phase) * 0.8 + np.cos(k * 0.11 + 2 * phase) * 0.3).reshape(shape).astype(np.float64)


def positive(shape, phase: float = 0.0) -> np.ndarray:
    """Like ``waves`` but in [0.3, 1.7]: inputs for ``log``."""
    return 1.0 + 0.7 * np.sin(np.arange(int(np.prod(shape))) * 0.53 + phase).reshape(shape)


# ---------------------------------------------------------------------- the engine, driven by name
# Ops and graphs are written once, as lambdas over whatever array class they are given: the
# student's Value here, utils.Tensor in the grader's references.
OPS = {
    "add": lambda a, b: a + b,
    "mul": lambda a, b: a * b,
    "matmul": lambda a, b: a @ b,
    "sum": lambda a, axis=None, keepdims=False: a.sum(axis=axis, keepdims=keepdims),
    "relu": lambda a: a.relu(),
    "exp": lambda a: a.exp(),
    "log": lambda a: a.log(),
}

GRAPHS = {
    # a: (n, k), b: (k, m); h is used three times, so a wrong order or an overwritten gradient shows
    "diamond": lambda a, b: (lambda h: (h.exp() * h + h.relu()).sum(axis=0))(a @ b),
    # a used four times through two branches of different depth
    "reuse": lambda a, b: ((a * a + a).exp().sum(axis=1, keepdims=True) * (a @ b).relu() + a.sum(axis=1, keepdims=True)).log(),
    # a: (n, k) inputs, b: (k, m) weights, a bias broadcast over rows, then a scalar
    "layer": lambda a, b: ((a @ b + b.sum(axis=0)).relu() * 0.5).sum(),
}


def run_op(Value, op: str, arrays, upstream, prior=None, same: bool = False, kwargs=None):
    """One op of ``Value`` and its own ``_backward`` only (no topological sort involved).

    Args:
        arrays: the operands (float64); ``same`` passes the first one twice (``x + x``).
        upstream: the gradient written into the output's ``grad`` before ``_backward()``.
        prior: gradients already held by the operands (to see that ``_backward`` adds to them).
    Returns:
        ``(out.data, [grad of each distinct operand])`` as NumPy arrays.
    """
    leaves = [Value(np.array(a, dtype=np.float64)) for a in arrays]
    operands = [leaves[0], leaves[0]] if same else leaves
    leaves = leaves[:1] if same else leaves
    if prior is not None:
        for leaf, grad in zip(leaves, prior):
            leaf.grad = np.array(grad, dtype=np.float64)
    out = OPS[op](*operands, **dict(kwargs or {}))
    out.grad = np.array(upstream, dtype=np.float64).reshape(np.shape(out.data))
    out._backward()
    return np.array(out.data, dtype=np.float64), [np.array(leaf.grad, dtype=np.float64) for leaf in leaves]


def run_graph(Value, graph: str, arrays, upstream=None):
    """Build ``GRAPHS[graph]`` from Values, call ``backward`` (with ``upstream``, or no argument
    when None) and return ``(output data, [gradient of each input])``."""
    leaves = [Value(np.array(a, dtype=np.float64)) for a in arrays]
    out = GRAPHS[graph](*leaves)
    out.backward() if upstream is None else out.backward(np.array(upstream, dtype=np.float64))
    return np.array(out.data, dtype=np.float64), [np.array(leaf.grad, dtype=np.float64) for leaf in leaves]


def graph_nodes(root) -> list:
    """Every Value ``root`` depends on, root included, found by following ``_prev``."""
    seen, stack, nodes = set(), [root], []
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        nodes.append(node)
        stack.extend(node._prev)
    return nodes


def order_report(Value, topological_order, graph: str, arrays) -> dict:
    """How ``topological_order`` orders ``GRAPHS[graph]``: ``{"nodes", "length", "unique", "missing",
    "inputs_first"}`` (counts of nodes, entries, distinct entries, nodes left out, and whether every
    node comes after all the Values it was computed from)."""
    leaves = [Value(np.array(a, dtype=np.float64)) for a in arrays]
    root = GRAPHS[graph](*leaves)
    nodes = graph_nodes(root)
    order = list(topological_order(root))
    position = {}
    for i, node in enumerate(order):
        position.setdefault(id(node), i)
    inputs_first = all(id(p) in position and id(n) in position and position[id(p)] < position[id(n)]
                       for n in nodes for p in n._prev)
    return {"nodes": len(nodes), "length": len(order), "unique": len(position),
            "missing": sum(id(n) not in position for n in nodes), "inputs_first": bool(inputs_first)}


def cubic_sine(weights):
    """``f(a) = sum(weights * a**3) / 3 + sum(sin(a))``, whose gradient is ``weights * a**2 + cos(a)``."""
    weights = np.array(weights, dtype=np.float64)
    return lambda a: float(np.sum(weights * np.asarray(a) ** 3) / 3.0 + np.sum(np.sin(a)))


def run_numerical(numerical_gradient, weights, x, h=None):
    """``numerical_gradient(cubic_sine(weights), x[, h])`` on a copy of ``x``: ``(gradient, x after the call)``."""
    x = np.array(x, dtype=np.float64)
    grad = numerical_gradient(cubic_sine(weights), x) if h is None else numerical_gradient(cubic_sine(weights), x, h)
    return np.array(grad, dtype=np.float64), x


MLP_NAMES = ("W1", "b1", "W2", "b2")


def run_mlp(Value, mlp_forward, cross_entropy, params, X, y):
    """Logits, loss and every parameter's gradient of the notebook's MLP on the given weights.

    params: {"W1": (D, H), "b1": (H,), "W2": (H, K), "b2": (K,)}; X: (N, D); y: (N,) ints.
    Returns ``(logits (N, K), loss (), {name: gradient})``.
    """
    values = {name: Value(np.array(params[name], dtype=np.float64)) for name in MLP_NAMES}
    logits = mlp_forward(values, np.array(X, dtype=np.float64))
    loss = cross_entropy(logits, np.asarray(y, dtype=np.int64))
    loss.backward()
    return (np.array(logits.data, dtype=np.float64), np.array(loss.data, dtype=np.float64),
            {name: np.array(values[name].grad, dtype=np.float64) for name in MLP_NAMES})


def run_sgd(Value, sgd_step, params, grads, lr):
    """One ``sgd_step`` on Values holding ``params`` and ``grads``: ``({name: data after}, {name: grad after})``."""
    values = {}
    for name in params:
        values[name] = Value(np.array(params[name], dtype=np.float64))
        values[name].grad = np.array(grads[name], dtype=np.float64)
    sgd_step(values, lr)
    return ({name: np.array(v.data, dtype=np.float64) for name, v in values.items()},
            {name: np.array(v.grad, dtype=np.float64) for name, v in values.items()})


PROBES = {  # kind: (the exercise it exercises, the names it needs from the notebook, the runner)
    "op": ("value", ("Value",), run_op),
    "graph": ("backward", ("Value",), run_graph),
    "order": ("backward", ("Value", "topological_order"), order_report),
    "numgrad": ("numgrad", ("numerical_gradient",), run_numerical),
    "mlp": ("mlp", ("Value", "mlp_forward", "cross_entropy"), run_mlp),
    "sgd": ("mlp", ("Value", "sgd_step"), run_sgd),
}


def probe(namespace: dict, kind: str, *args):
    """Run one of the engine drivers above on the answers in ``namespace`` (a notebook's globals).

    The hidden checks call it through the notebook's ``grader_probe``, as plain data in and out.
    While it runs, the library's own version of the exercise it drives refuses to run.
    """
    grade_id, names, runner = PROBES[kind]
    missing = [n for n in names if n not in namespace]
    if missing:
        raise NameError(f"name '{missing[0]}' is not defined (did you run/keep the cell that defines it?)")
    with active(exercise(WEEK, grade_id)):
        return runner(*(namespace[n] for n in names), *args)


# ---------------------------------------------------------------------- the fixed cases
UNBROADCAST_CASES = (  # (grad shape, operand shape)
    ((2, 3, 4), (3, 4)),
    ((2, 3, 4), (3, 1)),
    ((2, 3, 4), (4,)),
    ((2, 3, 4), (2, 1, 4)),
    ((3, 4), ()),
    ((3, 4), (3, 4)),
)


def _op_cases():
    """``{label: (op, arrays, upstream, prior, same, kwargs)}``: one or more fixed cases per op."""
    A, B = waves((3, 4), 0.1), waves((4, 2), 0.7)
    return {
        "add": ("add", [waves((3, 4), 0.2), waves((3, 4), 1.3)], waves((3, 4), 2.1), [waves((3, 4), 3.0), waves((3, 4), 3.5)], False, {}),
        "add_broadcast": ("add", [waves((3, 4), 0.4), waves((4,), 1.9)], waves((3, 4), 2.4), [waves((3, 4), 3.1), waves((4,), 3.7)], False, {}),
        "add_same": ("add", [waves((2, 3), 0.6)], waves((2, 3), 1.1), [waves((2, 3), 2.9)], True, {}),
        "mul": ("mul", [waves((3, 4), 0.3), waves((3, 1), 1.2)], waves((3, 4), 2.2), [waves((3, 4), 2.8), waves((3, 1), 3.3)], False, {}),
        "matmul": ("matmul", [A, B], waves((3, 2), 1.7), [waves((3, 4), 2.6), waves((4, 2), 3.4)], False, {}),
        "matmul_square": ("matmul", [waves((3, 3), 0.5), waves((3, 3), 1.5)], waves((3, 3), 2.5), [waves((3, 3), 3.2), waves((3, 3), 3.9)], False, {}),
        "sum_all": ("sum", [waves((3, 4), 0.8)], np.array(1.3), [waves((3, 4), 2.7)], False, {}),
        "sum_axis": ("sum", [waves((2, 3, 4), 0.9)], waves((2, 4), 1.4), [waves((2, 3, 4), 2.3)], False, {"axis": 1}),
        "sum_keepdims": ("sum", [waves((3, 4), 1.0)], waves((3, 1), 1.6), [waves((3, 4), 2.0)], False, {"axis": 1, "keepdims": True}),
        "relu": ("relu", [waves((3, 4), 1.1)], waves((3, 4), 1.8), [waves((3, 4), 2.4)], False, {}),
        "exp": ("exp", [waves((3, 4), 1.2)], waves((3, 4), 1.9), [waves((3, 4), 2.5)], False, {}),
        "log": ("log", [positive((3, 4), 1.3)], waves((3, 4), 2.0), [waves((3, 4), 2.6)], False, {}),
    }


OP_ORDER = ("add", "mul", "matmul", "sum", "relu", "exp", "log")


def _graph_cases():
    return {"diamond": [waves((3, 4), 0.15), waves((4, 2), 0.85) * 0.7],
            "reuse": [positive((2, 3), 0.25) * 0.5, positive((3, 3), 0.35) * 0.4],
            "layer": [waves((5, 3), 0.45), waves((3, 4), 1.05)]}


GRAPH_UPSTREAM = {"diamond": waves((2,), 1.25), "reuse": waves((2, 3), 1.35), "layer": None}


def mlp_case():
    """The visible check's public MLP: weights (D=6, H=5, K=4), a batch of N=3 and its labels."""
    params = {"W1": waves((6, 5), 0.2) * 0.6, "b1": waves((5,), 0.9) * 0.1,
              "W2": waves((5, 4), 1.4) * 0.6, "b2": waves((4,), 2.2) * 0.1}
    return params, waves((3, 6), 0.5), np.array([2, 0, 3])


# ---------------------------------------------------------------------- goldens
def golden_cases(namespace) -> dict:
    """Every fixed case through the reference answers in ``namespace`` (``python -m grader goldens``)."""
    Value = namespace["Value"]
    out = {}
    for i, (grad_shape, shape) in enumerate(UNBROADCAST_CASES):
        out[f"unbroadcast/{i}"] = np.asarray(namespace["unbroadcast"](waves(grad_shape, 0.3 + i), shape), dtype=np.float64)
    for label, (op, arrays, upstream, prior, same, kwargs) in _op_cases().items():
        data, grads = run_op(Value, op, arrays, upstream, prior, same, kwargs)
        out[f"op/{label}/out"] = data
        out.update({f"op/{label}/grad{k}": g for k, g in enumerate(grads)})
    for name, arrays in _graph_cases().items():
        data, grads = run_graph(Value, name, arrays, GRAPH_UPSTREAM[name])
        out[f"graph/{name}/out"] = data
        out.update({f"graph/{name}/grad{k}": g for k, g in enumerate(grads)})
    params, X, y = mlp_case()
    logits, loss, grads = run_mlp(Value, namespace["mlp_forward"], namespace["cross_entropy"], params, X, y)
    out["mlp/logits"], out["mlp/loss"] = logits, loss
    out.update(prefixed("mlp/grad", grads))
    return out


SCALARS = {"unbroadcast/4", "op/sum_all/out", "graph/layer/out", "mlp/loss"}  # stored as (1,), meant as ()


def _golden(key: str) -> np.ndarray:
    value = load_goldens(WEEK)[key]
    return value.reshape(()) if key in SCALARS else value


def _same(a, b, tol: float = 1e-9) -> bool:
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=tol, atol=tol))


# ---------------------------------------------------------------------- Exercise 1
@forbids(WEEK, "unbroadcast")
def test_unbroadcast(fn) -> CheckResult:
    """Check ``fn(grad, shape)`` on six (grad shape, operand shape) pairs."""
    result = CheckResult("unbroadcast")
    for i, (grad_shape, shape) in enumerate(UNBROADCAST_CASES):
        grad = waves(grad_shape, 0.3 + i)
        name = f"{grad_shape} back to {shape}"
        out, error = run_student(name, fn, grad.copy(), shape)
        if error:
            result.add(error)
            return result  # the other cases would fail the same way
        got = np.asarray(out)
        if got.shape != tuple(shape):
            hint = "broadcasting not undone: "
            if got.shape == grad_shape:
                hint += "the gradient came back unchanged; sum it over the axes broadcasting added or stretched"
            elif got.size == np.prod(shape):
                hint += "the right numbers of entries but the wrong shape; reshape the sum to `shape` at the end"
            else:
                hint += ("sum over the leading axes that broadcasting added (grad.ndim - len(shape) of them), then "
                         "over every axis where `shape` has size 1 (keepdims=True)")
            result.add(CheckItem(name, False, f"{hint}", expected=tuple(shape), received=got.shape))
            return result  # one failing case is enough to read
        item = check_close(name, got, _golden(f"unbroadcast/{i}"), rtol=1e-12, atol=1e-12)
        if not item.passed:
            item.message = "wrong values: each entry should be the sum of the gradient entries that were copies of it. " + item.message
            result.add(item)
            return result
        result.add(item)
    return result


# ---------------------------------------------------------------------- Exercise 2
def _op_hint(label: str, op: str, k: int, got, arrays, upstream, prior, same) -> str:
    """Name the likely mistake when the gradient of operand ``k`` of case ``label`` is wrong."""
    want = _golden(f"op/{label}/grad{k}")
    if prior is not None and _same(got, want - prior[k]):
        return ("gradient not accumulated: `_backward` overwrote the operand's .grad (`=`); add to it with `+=`, "
                "because a Value used twice must receive one contribution per use")
    if same and _same(got, prior[0] + (want - prior[0]) / 2):
        return ("gradient not accumulated: `x + x` gave x only one of its two contributions; use `+=` for "
                "both operands (they are the same Value)")
    local = np.asarray(got) - (prior[k] if prior is not None else 0)
    if op == "matmul":
        A, B = arrays
        G = np.asarray(upstream)
        wrong = (G @ B, G @ B.T.T) if k == 0 else (A @ G, A.T.T @ G)
        if any(w.shape == local.shape and _same(local, w) for w in wrong):
            return ("matmul backward is missing a transpose: for out = A @ B, dL/dA = dL/dout @ B.T and "
                    "dL/dB = A.T @ dL/dout (the shapes must match A's and B's)")
    if op == "log":
        x = arrays[0]
        if _same(local, upstream) or _same(local, upstream * x):
            return "log backward forgot the 1/x: d log(x)/dx = 1/x, so the operand gets out.grad / x"
    return ""


def _check_op_case(result: CheckResult, Value, label: str, case) -> bool:
    op, arrays, upstream, prior, same, kwargs = case
    name = f"{label}: forward and backward"
    reply, error = run_student(name, run_op, Value, op, [a.copy() for a in arrays], upstream, [p.copy() for p in prior], same, kwargs)
    if error:
        if op == "matmul" and "NotImplementedError" not in error.message and "not implemented" not in error.message:
            error.message += (" (matmul backward is missing a transpose? dL/dA = dL/dout @ B.T has A's shape, "
                              "dL/dB = A.T @ dL/dout has B's)")
        result.add(error)
        return False
    data, grads = reply
    item = check_close(f"{label}: forward", data, _golden(f"op/{label}/out"), rtol=1e-12, atol=1e-12)
    result.add(item)
    ok = item.passed
    for k, got in enumerate(grads):
        want = _golden(f"op/{label}/grad{k}")
        which = "the operand" if len(grads) == 1 else ("the left operand" if k == 0 else "the right operand")
        gname = f"{label}: gradient of {which}"
        if got.shape != want.shape:
            shape = np.shape(arrays[k])
            result.add(CheckItem(gname, False, f"broadcasting not undone: the gradient has shape {got.shape} but {which} has "
                                 f"shape {shape}; pass it through unbroadcast(..., {shape})" if got.size != want.size else
                                 "the gradient has the wrong shape", expected=want.shape, received=got.shape))
            ok = False
            continue
        item = check_close(gname, got, want, rtol=1e-12, atol=1e-13)
        if not item.passed:
            hint = _op_hint(label, op, k, got, arrays, upstream, prior, same)
            if hint:
                item.message = f"likely cause: {hint}. " + item.message
        result.add(item)
        ok = ok and item.passed
    return ok


def _holds_arrays(result: CheckResult, Value) -> bool:
    """One item: ``Value(array)`` keeps the array as float64 ``data`` and starts ``grad`` at zeros."""
    name = "Value(array) holds data and a zero grad"
    leaf, error = run_student(name, Value, waves((2, 3), 0.5))
    if error:
        result.add(error)
        return False
    data, grad = getattr(leaf, "data", None), getattr(leaf, "grad", None)
    ok = (isinstance(data, np.ndarray) and data.dtype == np.float64 and _same(data, waves((2, 3), 0.5), 0.0)
          and isinstance(grad, np.ndarray) and grad.shape == (2, 3) and not np.any(grad))
    result.add(CheckItem(name, ok, "" if ok else "Value(array) must keep the array as `data` (float64) and set `grad` "
                         "to zeros of the same shape; keep the given __init__"))
    return ok


def _value_ready(result: CheckResult, Value) -> bool:
    """For the later exercises: fail at once, naming Exercise 2, when ``Value`` cannot even hold an array."""
    if _holds_arrays(CheckResult("Value"), Value):
        return True
    result.add(CheckItem("Value holds arrays", False, "Exercise 2 (Value) fails its check; fix it first (rerun its check "
                         "cell to see why)"))
    return False


@forbids(WEEK, "value")
def test_value_ops(Value) -> CheckResult:
    """Check each op of ``Value``: its forward value and what its ``_backward`` adds to the operands' grads."""
    result = CheckResult("Value")
    if not _holds_arrays(result, Value):
        return result  # nothing below can work: say so once
    cases = _op_cases()
    for op in OP_ORDER:
        for label, case in cases.items():
            if case[0] == op:
                if not _check_op_case(result, Value, label, case):
                    break  # one failing case per op is enough to read
    return result


# ---------------------------------------------------------------------- Exercise 3
@forbids(WEEK, "backward")
def test_backward(Value, topological_order) -> CheckResult:
    """Check ``topological_order`` on a graph with a shared node and ``Value.backward`` on three graphs."""
    result = CheckResult("backward")
    if not _value_ready(result, Value):
        return result
    cases = _graph_cases()
    report, error = run_student("topological order", order_report, Value, topological_order, "diamond", cases["diamond"])
    if error:
        result.add(error)
        return result
    problems = []
    if report["missing"]:
        problems.append(f"{report['missing']} of the {report['nodes']} Values in the graph are missing from the order: "
                        "visit every Value in `_prev`, recursively")
    if report["length"] != report["unique"]:
        problems.append("some Values appear more than once: remember the ones already visited (a set) and skip them, "
                        "or a shared Value passes its gradient on twice")
    if not report["inputs_first"]:
        problems.append("wrong topological order: every Value must come after all the Values it was computed from "
                        "(append a node only after visiting its `_prev`); backward then walks the list in reverse")
    result.add(CheckItem("topological order", not problems, "; ".join(problems)))
    for name, arrays in cases.items():
        label = f"backward through the '{name}' graph"
        reply, error = run_student(label, run_graph, Value, name, [a.copy() for a in arrays], GRAPH_UPSTREAM[name])
        if error:
            result.add(error)
            return result  # the other graphs would fail the same way
        data, grads = reply
        ok = check_close(f"{label}: output", data, _golden(f"graph/{name}/out"), rtol=1e-10, atol=1e-12).passed
        for k, got in enumerate(grads):
            ok = ok and check_close("", got, _golden(f"graph/{name}/grad{k}"), rtol=1e-9, atol=1e-11).passed
        message = ""
        if not ok:
            message = ("wrong gradients: backward must seed the output's grad (ones when no gradient is given), then call "
                       "`_backward` of every Value from the output back to the inputs, i.e. over reversed(topological_order(self)), "
                       "so each Value has its full gradient before it passes it on")
            if problems:
                message = "the topological order is wrong (see above): " + message
            elif not test_value_ops(Value).passed:
                message = "Exercise 2 (Value) fails its check; fix it first (rerun its check cell to see why). " + message
        result.add(CheckItem(label, ok, message))
    return result


# ---------------------------------------------------------------------- Exercise 4
NUMGRAD_WEIGHTS = waves((3, 4), 0.6)
NUMGRAD_X = waves((3, 4), 1.6)


@forbids(WEEK, "numgrad")
def test_numerical_gradient(fn) -> CheckResult:
    """Check ``fn(f, x)`` on ``f(a) = sum(w * a**3) / 3 + sum(sin(a))``, whose gradient is known exactly."""
    result = CheckResult("numerical_gradient")
    x = NUMGRAD_X.copy()
    reply, error = run_student("central differences", run_numerical, fn, NUMGRAD_WEIGHTS, x)
    if error:
        result.add(error)
        return result
    grad, after = reply
    exact = NUMGRAD_WEIGHTS * NUMGRAD_X ** 2 + np.cos(NUMGRAD_X)
    if grad.shape != exact.shape:
        result.add(CheckItem("central differences", False, "the gradient must have x's shape (one entry per entry of x)",
                             expected=exact.shape, received=grad.shape))
        return result
    item = check_close("central differences", grad, exact, rtol=1e-8, atol=1e-8)
    if not item.passed:
        error = np.max(np.abs(grad - exact))
        if 1e-8 < error < 1e-4:
            item.message = ("likely cause: a one-sided difference (f(x + h) - f(x)) / h, whose error is about h; the central "
                            "difference (f(x + h) - f(x - h)) / (2h) is accurate to about h**2. " + item.message)
        elif _same(grad, exact * 2, 1e-6) or _same(grad, exact / 2, 1e-6):
            item.message = "likely cause: a factor of 2: divide f(x + h) - f(x - h) by 2h. " + item.message
    result.add(item)
    result.add(CheckItem("x is left as it was", _same(after, NUMGRAD_X, 0.0),
                         "x changed: put each entry back (x[i] = old) after evaluating f at x[i] + h and x[i] - h"))
    return result


# ---------------------------------------------------------------------- Exercise 5
_EARLIER = [("Exercise 2 (Value)", test_value_ops, ["Value"])]


@forbids(WEEK, "mlp")
def test_mlp(Value, mlp_forward, cross_entropy, sgd_step) -> CheckResult:
    """Check the MLP's logits, loss and gradients on fixed weights, and one SGD step."""
    result = CheckResult("MLP")
    if not _value_ready(result, Value):
        return result
    params, X, y = mlp_case()
    reply, error = run_student("forward, loss and backward", run_mlp, Value, mlp_forward, cross_entropy, params, X, y)
    if error:
        error.message = earlier_exercise_failing(mlp_forward, _EARLIER, error.message)
        result.add(error)
        return result
    logits, loss, grads = reply
    item = result.add(check_close("logits", logits, _golden("mlp/logits"), rtol=1e-10, atol=1e-12))
    if not item.passed:
        item.message = earlier_exercise_failing(mlp_forward, _EARLIER, "relu(X @ W1 + b1) @ W2 + b2. " + item.message)
    item = result.add(check_close("cross-entropy loss", loss, _golden("mlp/loss"), rtol=1e-10, atol=1e-12))
    if not item.passed and _same(loss, _golden("mlp/loss") * len(y)):
        item.message = "likely cause: the loss is summed over the batch; take the mean (multiply by 1 / N). " + item.message
    for name in MLP_NAMES:
        result.add(check_close(f"gradient of {name}", grads[name], _golden(f"mlp/grad/{name}"), rtol=1e-9, atol=1e-11))
    big = {k: v * (400.0 if k.startswith("W") else 1.0) for k, v in params.items()}
    reply, error = run_student("large logits stay finite", run_mlp, Value, mlp_forward, cross_entropy, big, X, y)
    if not error:
        finite = bool(np.all(np.isfinite(reply[1]))) and all(np.all(np.isfinite(g)) for g in reply[2].values())
        result.add(CheckItem("large logits stay finite", finite, "" if finite else
                             "exp overflowed: subtract each row's largest logit (a constant, logits.data.max(axis=1, keepdims=True)) "
                             "before exp; softmax does not change"))
    else:
        result.add(error)
    grads_in = {name: waves(np.shape(v), 3.3 + i) for i, (name, v) in enumerate(params.items())}
    reply, error = run_student("SGD step", run_sgd, Value, sgd_step, params, grads_in, 0.1)
    if error:
        result.add(error)
        return result
    after, grads_after = reply
    expected = {name: params[name] - 0.1 * grads_in[name] for name in params}
    moved = all(_same(after[n], expected[n], 1e-12) for n in params)
    if not moved and all(_same(after[n], params[n] + 0.1 * grads_in[n], 1e-12) for n in params):
        message = "the step went uphill: subtract lr * grad"
    else:
        message = "each parameter should become data - lr * grad, in place"
    result.add(CheckItem("SGD step moves each parameter by -lr * grad", moved, "" if moved else message))
    zeroed = all(not np.any(grads_after[n]) for n in params)
    result.add(CheckItem("SGD step zeroes the gradients", zeroed, "" if zeroed else
                         "set every parameter's grad back to zeros after the step, or the next backward adds to the old gradient"))
    return result


__all__ = ["GRAPHS", "OPS", "golden_cases", "probe", "test_backward", "test_mlp", "test_numerical_gradient",
           "test_unbroadcast", "test_value_ops", "waves"]
