"""The result objects behind every visible check, and helpers that build them.

A check function returns a ``CheckResult``: a title and a list of ``CheckItem``s, each
one named test with pass/fail and a plain-words message. ``show_result`` renders it once
(an HTML table in Jupyter, text elsewhere). In a notebook a failing check does not stop
"Run All": the table says what is wrong, the check is remembered, and a later cell that
needs that exercise (``with requires("Exercise 2 (...)")``) stops with "Exercise 2 fails its
check; fix it first". Outside a notebook (a script, a test) a failing check raises
``CheckFailed``. ``python -m utils.check`` reads the verdicts from the notebook's outputs.

Student code is called through ``run_student``, which turns an unfinished stub
(``NotImplementedError``) or any other exception into a failed item.
"""
from __future__ import annotations

import html
import os
import re
import sys
from dataclasses import dataclass, field

import numpy as np

from ..backend import asnumpy

_UTILS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_LIBRARY_DIRS = tuple(os.path.abspath(d) + os.sep for d in {_UTILS_DIR, sys.prefix, sys.base_prefix, sys.exec_prefix})


# ---------------------------------------------------------------------- exceptions
class CheckFailed(AssertionError):
    """Raised by ``show_result`` when a check failed; Jupyter shows only its message."""

    def _render_traceback_(self):
        return str(self).splitlines()


class ExerciseNotReady(NotImplementedError):
    """Raised by ``requires`` when a cell needs an exercise that is still a stub."""

    def _render_traceback_(self):
        return str(self).splitlines()


# ---------------------------------------------------------------------- results
def _short(value, limit: int = 120) -> str:
    """A one-line description of ``value`` of at most ``limit`` characters."""
    if hasattr(value, "shape") and hasattr(value, "dtype"):
        arr = asnumpy(value)
        text = np.array2string(arr, precision=4, threshold=8, edgeitems=2, separator=", ").replace("\n", "")
        text = f"{text} (shape {arr.shape}, {arr.dtype})"
    else:
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass
class CheckItem:
    """One named test inside a check.

    Args:
        name: what was tested, e.g. ``"output shape"``.
        passed: whether it passed.
        message: plain words on what is wrong (and, ideally, the likely cause).
        expected, received: optional values shown beside the message.
    """

    name: str
    passed: bool
    message: str = ""
    expected: object = None
    received: object = None

    def details(self) -> str:
        """The message plus expected/received values, as one text block."""
        parts = [self.message] if self.message else []
        if self.expected is not None:
            parts.append(f"expected: {_short(self.expected)}")
        if self.received is not None:
            parts.append(f"received: {_short(self.received)}")
        return "\n".join(parts)


@dataclass(repr=False)
class CheckResult:
    """The outcome of a visible check: a title and its items.

    ``passed`` is True when there is at least one item and every item passed.
    """

    title: str
    items: list = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return bool(self.items) and all(item.passed for item in self.items)

    @property
    def failed_items(self) -> list:
        return [item for item in self.items if not item.passed]

    def add(self, item: CheckItem) -> CheckItem:
        self.items.append(item)
        return item

    def summary(self) -> str:
        """One line, e.g. ``"Exercise 1 (AlexNet): 3 of 4 checks passed"``."""
        n_passed = sum(item.passed for item in self.items)
        if not self.items:
            return f"{self.title}: no checks ran"
        verdict = "all checks passed" if self.passed else f"{n_passed} of {len(self.items)} checks passed"
        return f"{self.title}: {verdict}"

    def to_text(self) -> str:
        lines = [self.summary()]
        for item in self.items:
            lines.append(f"  [{'PASS' if item.passed else 'FAIL'}] {item.name}")
            if not item.passed:
                lines.extend("         " + line for line in item.details().splitlines())
        return "\n".join(lines)

    __str__ = __repr__ = to_text

    def _repr_html_(self) -> str:
        colour = "#1a7f37" if self.passed else "#cf222e"
        rows = []
        for item in self.items:
            mark = ("&#10004; pass", "#1a7f37") if item.passed else ("&#10008; fail", "#cf222e")
            message = html.escape(item.details()).replace("\n", "<br>") if not item.passed else ""
            rows.append(
                f"<tr><td style='text-align:left'>{html.escape(item.name)}</td>"
                f"<td style='color:{mark[1]};font-weight:bold;white-space:nowrap'>{mark[0]}</td>"
                f"<td style='text-align:left;font-family:monospace'>{message}</td></tr>"
            )
        return (
            f"<div><p style='color:{colour};font-weight:bold'>{html.escape(self.summary())}</p>"
            "<table><thead><tr><th style='text-align:left'>check</th><th style='text-align:left'>result</th>"
            "<th style='text-align:left'>message</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table></div>"
        )


# ---------------------------------------------------------------------- rendering
def _in_kernel() -> bool:
    """True inside a running Jupyter kernel (where HTML output is shown)."""
    try:
        from IPython import get_ipython
    except ImportError:
        return False
    shell = get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


OUTPUT_KEY = "utils_check"  # display metadata: {"title", "passed", "failures": [lines]}
_FAILING: dict[str, list] = {}  # title of a check that failed when it last ran -> its exercise numbers
_EXERCISE_NUMBERS = re.compile(r"\bExercises?\s+(\d+)(?:\s*[-\u2013]\s*(\d+))?")


def exercise_numbers(label: str) -> list[int]:
    """``"Exercise 3: AlexNet"`` -> ``[3]``; ``"Exercises 2-5 (...)"`` -> ``[2, 3, 4, 5]``; else ``[]``."""
    found = _EXERCISE_NUMBERS.search(label)
    if not found:
        return []
    first = int(found.group(1))
    return list(range(first, int(found.group(2) or first) + 1))


def failure_lines(result: "CheckResult") -> list[str]:
    """The failed items, one line each (what ``CheckFailed`` and ``utils.check`` print)."""
    if not result.items:
        return ["no checks ran"]
    return [f"{item.name}" + (f": {item.message.splitlines()[0]}" if item.message else "") for item in result.failed_items]


def show_result(title: str, result) -> None:
    """Render a check's result once; remember a failure for ``requires``.

    Args:
        title: the exercise, e.g. ``"Exercise 3: AlexNet"``; replaces the result's title.
        result: a ``CheckResult`` or a list of ``CheckItem``s.

    In a notebook a failure is shown as the table only, so "Run All" goes on; elsewhere it
    raises ``CheckFailed``. Returns None (so that Jupyter does not show the result twice).
    """
    if isinstance(result, CheckItem):
        result = [result]
    items = result.items if isinstance(result, CheckResult) else list(result)
    result = CheckResult(title, items)
    if result.passed:
        _FAILING.pop(title, None)
    elif exercise_numbers(title):
        _FAILING[title] = exercise_numbers(title)
    if _in_kernel():
        from IPython.display import display

        verdict = {"title": title, "passed": result.passed, "failures": [] if result.passed else failure_lines(result)}
        display(result, metadata={OUTPUT_KEY: verdict})
        return
    print(result.to_text())
    if not result.passed:
        lines = failure_lines(result)
        if not result.items:
            raise CheckFailed(f"{title}: no checks ran")
        raise CheckFailed("\n".join([f"{title}: {len(lines)} of {len(result.items)} checks failed"] + [f"  - {l}" for l in lines]))


# ---------------------------------------------------------------------- building items
def check_true(name: str, condition, message: str) -> CheckItem:
    """A pass when ``condition`` is true; otherwise a fail carrying ``message``."""
    passed = bool(condition)
    return CheckItem(name, passed, "" if passed else message)


def _shape_of(value) -> tuple:
    if isinstance(value, (tuple, list)) and all(isinstance(n, (int, np.integer)) for n in value):
        return tuple(int(n) for n in value)
    if not hasattr(value, "shape"):
        raise TypeError(f"expected an array or Tensor with a .shape, got {type(value).__name__}")
    return tuple(value.shape)


def check_shape(name: str, received, expected_shape) -> CheckItem:
    """Compare ``received.shape`` (or a shape tuple) with ``expected_shape``.

    ``None`` in ``expected_shape`` matches any size on that axis.
    """
    expected_shape = tuple(expected_shape)
    if not hasattr(received, "shape") and not isinstance(received, (tuple, list)):
        return CheckItem(name, False, f"expected an array or Tensor of shape {expected_shape}, got a {type(received).__name__}",
                         expected=expected_shape, received=type(received).__name__)
    shape = _shape_of(received)
    ok = len(shape) == len(expected_shape) and all(e is None or e == s for e, s in zip(expected_shape, shape))
    if ok:
        return CheckItem(name, True)
    if len(shape) != len(expected_shape):
        message = f"shape {shape} has {len(shape)} axes, expected {len(expected_shape)} axes {expected_shape}"
    else:
        axes = [i for i, (e, s) in enumerate(zip(expected_shape, shape)) if e is not None and e != s]
        message = f"shape {shape} differs from the expected {expected_shape} on {'axes' if len(axes) > 1 else 'axis'} {', '.join(map(str, axes))}"
        if sorted(shape) == sorted(n for n in expected_shape if n is not None) and None not in expected_shape:
            message += " (the right sizes in the wrong order: a swapped or transposed axis?)"
    return CheckItem(name, False, message, expected=expected_shape, received=shape)


def check_close(name: str, received, expected, rtol: float = 1e-5, atol: float = 1e-6) -> CheckItem:
    """Compare values elementwise: pass when ``|received - expected| <= atol + rtol * |expected|``.

    The message reports the maximum absolute and relative errors (relative only where the
    expected value is not about 0), the index of the largest difference with both values
    there, and the tolerance they should be below.
    """
    if received is None:
        return CheckItem(name, False, "received None: did the function forget to `return` its result?")
    got = asnumpy(received).astype(np.float64)
    want = asnumpy(expected).astype(np.float64)
    if got.shape != want.shape:
        return CheckItem(name, False, f"shape {got.shape} differs from the expected {want.shape}",
                         expected=want.shape, received=got.shape)
    tolerance = f"should be below atol={atol:g} + rtol={rtol:g} * |expected|"
    if got.size == 0:
        return CheckItem(name, True)
    if not np.all(np.isfinite(got) | ~np.isfinite(want)):
        first = tuple(int(i) for i in np.argwhere(~np.isfinite(got) & np.isfinite(want))[0])
        return CheckItem(name, False, f"received non-finite values (NaN or inf), first at index {first}: "
                         f"received {got[first]!r}, expected {want[first]:.6g}")
    abs_err = np.abs(got - want)
    abs_err = np.where(np.isfinite(want), abs_err, np.where(got == want, 0.0, np.inf))
    bad = abs_err > atol + rtol * np.abs(want)
    nonzero = np.abs(want) > atol  # a relative error means little where the expected value is about 0
    rel_err = np.where(nonzero & (abs_err > 0), abs_err / np.where(nonzero, np.abs(want), 1.0), 0.0)
    relative = f", max relative error {rel_err.max():.3g}" if nonzero.any() else ""
    errors = f"max abs error {abs_err.max():.3g}{relative} ({tolerance})"
    if not bad.any():
        return CheckItem(name, True, errors)
    worst = np.unravel_index(int(np.argmax(np.where(bad, abs_err, -1.0))), abs_err.shape)
    worst = tuple(int(i) for i in worst)
    where = f"index {worst}" if worst else "the value"
    message = f"{errors}; largest difference at {where}: received {got[worst]:.6g}, expected {want[worst]:.6g}"
    return CheckItem(name, False, message)


def check_gradients_reach_parameters(module, output, name: str = "every parameter gets a gradient") -> CheckItem:
    """Backpropagate ``output.sum()``; pass when every parameter of ``module`` then holds a gradient.

    Args:
        module: the student's model, its gradients zeroed by this check.
        output: a Tensor the model produced in training mode, any shape.

    The message names the first parameters left without a gradient and the usual causes;
    an output cut off from the graph, or a backward that raises, fails with a message too.
    """
    hint = "keep forward in Tensor operations (no .numpy() or new Tensor(...) inside)"
    if not getattr(output, "requires_grad", False):
        return CheckItem(name, False, f"the output does not require grad, so no gradient can reach the parameters: {hint}")
    module.zero_grad()
    try:
        output.sum().backward()
    except Exception as exc:  # a student's bug must become a failed item, never a crash
        return CheckItem(name, False, f"backward raised {type(exc).__name__}: {exc}")
    missing = [pname for pname, p in module.named_parameters() if p.grad is None]
    return check_true(name, not missing, f"no gradient reached {', '.join(missing[:3])}: {hint} and use every layer you create")


def check_gradients_reach_inputs(fn, inputs: dict, name: str = "gradients flow back to the inputs", pick=None) -> CheckItem:
    """Call ``fn(*inputs.values())`` on fresh copies that require grad, backpropagate a fixed
    weighted sum of its output, and pass when every named input then holds a nonzero gradient.

    Args:
        fn: the student's function.
        inputs: ``{argument name: array or Tensor}`` in call order; each becomes a new Tensor of the
            same (floating) dtype with ``requires_grad=True`` (so the check never changes the caller's values).
        pick: optional ``callable(result) -> Tensor`` choosing what to backpropagate (default: the
            result itself, or its first element when it is a tuple).

    A weighted sum (fixed, uneven weights), not a plain sum, is backpropagated, so an output whose
    plain sum is constant (softmax weights) still carries gradient. The message names the first
    input no gradient reached ("no gradient reaches Q: was the result computed outside Tensor
    operations?").
    """
    from ..tensor import Tensor

    hint = ("was the result computed outside Tensor operations (.numpy(), np.* on the data, or a new Tensor(...) "
            "wrapped around a NumPy result)? Such a result cuts the graph, so nothing before it can train")
    def leaf(value):
        arr = np.array(asnumpy(value.data if isinstance(value, Tensor) else value))  # a copy: the caller's values stay as they are
        arr = arr if np.issubdtype(arr.dtype, np.floating) else arr.astype(np.float64)
        return Tensor(arr, requires_grad=True, dtype=arr.dtype)

    leaves = {key: leaf(value) for key, value in inputs.items()}
    try:
        raw = fn(*leaves.values())
        out = pick(raw) if pick is not None else (raw[0] if isinstance(raw, (tuple, list)) else raw)
    except Exception as exc:  # a student's bug must become a failed item, never a crash
        return CheckItem(name, False, f"calling `{_callable_name(fn)}` on inputs that require grad raised "
                                      f"{type(exc).__name__}: {exc}")
    if not isinstance(out, Tensor):
        return CheckItem(name, False, f"the result is a {type(out).__name__}, not a utils Tensor: {hint}")
    if not out.requires_grad:
        first = next(iter(leaves))
        return CheckItem(name, False, f"no gradient reaches {first}: the result does not require grad; {hint}")
    weights = np.cos(np.arange(int(np.prod(out.shape))) * 0.61 + 0.3).reshape(out.shape) + 1.5
    try:
        (out * Tensor(weights, dtype=out.dtype, device=getattr(out, "device", None))).sum().backward()
    except Exception as exc:  # noqa: BLE001
        return CheckItem(name, False, f"backward raised {type(exc).__name__}: {exc}")
    for key, leaf in leaves.items():
        grad = None if leaf.grad is None else asnumpy(leaf.grad.data if isinstance(leaf.grad, Tensor) else leaf.grad)
        if grad is None or not np.any(grad != 0):
            return CheckItem(name, False, f"no gradient reaches {key}: {hint}")
    return CheckItem(name, True)


def earlier_exercise_failing(obj, earlier, message: str) -> str:
    """``message``, prefixed with "Exercise N (...) fails its check; fix it first" when an earlier
    exercise that ``obj`` builds on fails its own visible check.

    Args:
        obj: the student's class or function under check; the earlier answers are looked up by
            name in the globals of its ``forward`` (or of the function): the notebook's namespace.
        earlier: ``[(label, check, names)]`` in teaching order: ``check(*answers named names)``
            is the earlier exercise's visible check, ``label`` e.g. ``"Exercise 1 (attention)"``.
        message: the failed item's own message.
    """
    code = getattr(obj, "forward", obj)
    names = getattr(code, "__globals__", {})
    for label, check, needed in earlier:
        answers = [names.get(n) for n in needed]
        if not all(callable(a) for a in answers) or any(a is obj for a in answers):
            continue
        try:
            passed = check(*answers).passed
        except Exception:  # noqa: BLE001 - a prerequisite that crashes its check fails it
            passed = False
        if not passed:
            return f"{label} fails its check; fix it first (rerun its check cell to see why). " + message
    return message


# ---------------------------------------------------------------------- calling student code
def _callable_name(fn) -> str:
    """``f`` for a function, ``Model.forward`` for a Module instance, ``Class`` for a class."""
    if isinstance(fn, type) or hasattr(fn, "__qualname__"):
        return getattr(fn, "__qualname__", getattr(fn, "__name__", repr(fn)))
    if hasattr(fn, "forward"):
        return f"{type(fn).__name__}.forward"
    return type(fn).__name__


def _qualified_stub_name(exc: BaseException, fallback: str) -> str:
    """The student's function whose body raised ``exc``: the innermost frame that is neither
    ``utils`` nor an installed library (NumPy, the standard library), with its class prefix
    (``AlexNet.forward``)."""
    tb, found = exc.__traceback__, None
    while tb is not None:
        code = tb.tb_frame.f_code
        if not os.path.abspath(code.co_filename).startswith(_LIBRARY_DIRS):
            found = getattr(code, "co_qualname", code.co_name)
        tb = tb.tb_next
    return found or fallback


def not_implemented_message(function_name: str) -> str:
    return f"not implemented yet: fill in the `YOUR CODE HERE` part of `{function_name}`"


def run_student(name: str, fn, *args, **kwargs):
    """Call student code ``fn(*args, **kwargs)`` without letting it crash the check.

    Returns:
        ``(value, None)`` when the call succeeds, or ``(None, item)`` where ``item`` is a
        failed ``CheckItem`` named ``name``: for ``NotImplementedError`` it says which
        stub to fill in; for any other exception it shows the exception type and message.
        ``MemoryError`` passes through unchanged, as in ``requires``: running out of memory is
        never disguised as a wrong answer (the grader reports it as a status of its own).

    Typical use inside a check::

        out, error = run_student("forward pass", model, x)
        if error:
            return CheckResult(title, [error])
    """
    try:
        return fn(*args, **kwargs), None
    except NotImplementedError as exc:
        stub = _qualified_stub_name(exc, _callable_name(fn))
        return None, CheckItem(name, False, not_implemented_message(stub))
    except MemoryError:
        raise
    except Exception as exc:  # a student's bug must become a failed item, never a crash
        where = _qualified_stub_name(exc, _callable_name(fn))
        return None, CheckItem(name, False, f"calling `{_callable_name(fn)}` raised {type(exc).__name__}: {exc} (in `{where}`)")


class requires:
    """Context manager for a cell that needs a finished exercise.

    If that exercise's visible check failed when it last ran, the cell stops at once with
    ``ExerciseNotReady`` naming the exercise ("Exercise 3 fails its check; fix it first").
    ``with requires("Exercise 3 (AlexNet)"): ...`` turns a ``NotImplementedError`` raised
    inside into a short ``ExerciseNotReady`` error naming the exercise (and the stub) to
    finish first. Any other error inside (a name an earlier cell never defined, an empty
    training history) becomes an ``ExerciseNotReady`` that names the exercise and keeps the
    original error's type and message, so a student never meets a bare traceback here.
    ``MemoryError`` passes through unchanged: running out of memory is never disguised.
    """

    def __init__(self, exercise: str):
        self.exercise = exercise
        self._figures_before: set = set()

    def __enter__(self):
        needed = set(exercise_numbers(self.exercise))
        failing = [title for title, numbers in _FAILING.items() if needed & set(numbers)]
        if failing:
            raise ExerciseNotReady(f"{failing[0]} fails its check; fix it first (the table under that check "
                                   f"says what is wrong), rerun the check, then rerun this cell.")
        self._figures_before = _open_figures()
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is None or not issubclass(exc_type, Exception) or issubclass(exc_type, (ExerciseNotReady, CheckFailed, MemoryError)):
            return False  # interrupts, exhausted memory and our own short errors pass through as they are
        _close_figures(_open_figures() - self._figures_before)  # no empty axes under the error
        its = "their checks" if self.exercise.startswith("Exercises") else "its check"
        if issubclass(exc_type, NotImplementedError):
            stub = _qualified_stub_name(exc, "")
            detail = f": `{stub}` is " if stub else ": this cell uses code that is "
            message = (f"Finish {self.exercise} first{detail}not implemented yet. "
                       f"Fill in its `YOUR CODE HERE` part, run {its}, then rerun this cell.")
        else:
            message = (f"This cell needs {self.exercise} and stopped with {exc_type.__name__}: {exc}. "
                       f"Make {self.exercise} pass {its}, rerun the cells above, then rerun this cell.")
        raise ExerciseNotReady(message) from None


def _open_figures() -> set:
    """Numbers of the open matplotlib figures (none if pyplot was never imported)."""
    pyplot = sys.modules.get("matplotlib.pyplot")
    return set(pyplot.get_fignums()) if pyplot is not None else set()


def _close_figures(numbers) -> None:
    pyplot = sys.modules.get("matplotlib.pyplot")
    for number in numbers:
        pyplot.close(number)
