"""Delegation earns nothing: while an exercise is checked, the library's own answer to it refuses to run.

Each exercise that has a counterpart in ``utils`` lists it below (``EXERCISES``): week 4's
``scaled_dot_product_attention`` has ``utils.nn.scaled_dot_product_attention``, week 2's
``batchnorm2d_forward`` has ``utils.nn.batch_norm`` and ``BatchNorm2d``, and so on. While a
check runs a student's answer to exercise N (a visible check in the notebook, or a hidden
check in the grader's jail), exercise N's counterparts raise ``DelegationError`` ("Exercise N
asks you to write this yourself") however they are reached: called directly, through an
alias, or through another library layer (``BatchNorm2d`` inside ``batchnorm2d_forward``).

Why scoped to the answer being checked, not to the whole week: the same library code is a
legitimate tool elsewhere. ``AlexNet`` (exercise 3) is built from ``Conv2d``, which calls
``conv2d``, the counterpart of exercise 2; ``ResidualBlock`` uses ``BatchNorm2d``; the LSTM
forecaster uses ``utils.nn.LSTM``; training loops use all of them. So a counterpart is
refused only inside the dynamic extent of the answer it would replace, and works everywhere
else, for the student's other exercises and for the library itself.

How: a guarded function keeps its identity (every ``from utils.nn import ...`` binding,
alias and internal reference sees the guard) because its code object is swapped for a
trampoline; a guarded class gets guarded ``__init__`` and ``forward``. ``install`` puts the
trampolines in place, ``active`` marks the exercises whose counterparts refuse to run, and
``forbidding`` does both for the length of one visible check and restores everything after.
The grader's jail installs every guard before the submission's code is loaded and activates
the exercise of each request (``activate_for_answer``), so nothing the student can reach is
unguarded. This stops delegation, not a determined student rewriting the library or the
grader's worker in memory (the worker is ``__main__`` in the jail: replacing its
``activate_for_answer`` switches every guard off); ``python -m grader similarity`` reports
copying the library's source, and names the answers that reach for either.
"""
from __future__ import annotations

import contextlib
import functools
import importlib
import sys
import threading
import types
from dataclasses import dataclass, field
from pathlib import Path

CHECKS_DIR = Path(__file__).parent  # as code objects name their files (not resolved)
CHECKS_PREFIX = str(CHECKS_DIR) + "/"
UTILS_PREFIX = str(CHECKS_DIR.parent) + "/"
DISPATCH_NAME = "__delegation_guard__"


class DelegationError(RuntimeError):
    """The library's implementation of an exercise was called from the answer to that exercise."""


@dataclass(frozen=True)
class Exercise:
    """One exercise with a library counterpart.

    number: as the notebook numbers it; grade_id: its answer cell; answers: the names the
    student defines; library: dotted paths of what the library offers for the same job.
    """

    week: str
    number: int
    grade_id: str
    answers: tuple
    library: tuple

    def message(self, target: str) -> str:
        return (f"Exercise {self.number} asks you to write this yourself: `{target}` is the library's version of "
                f"it, so your `{self.answers[0]}` may not call it (build it from array/Tensor operations)")


def _ex(week, number, grade_id, answers, library):
    return Exercise(week, number, grade_id, tuple(answers), tuple(library))


CONV = ("utils.nn.conv.conv2d", "utils.nn.conv.Conv2d")
ATTENTION = ("utils.nn.attention.scaled_dot_product_attention", "utils.nn.attention.masked_softmax",
             "utils.nn.attention.MultiHeadAttention", "utils.nn.transformer.TransformerEncoderLayer")
PATCHES = ("utils.nn.conv.windows",)
ENGINE = ("utils.tensor.Tensor",)  # week 0 builds its own: wrapping the library's Tensor is delegation
EXERCISES = {
    "week0_autograd": (
        _ex("week0_autograd", 1, "unbroadcast", ["unbroadcast"], ["utils.tensor.unbroadcast"]),
        _ex("week0_autograd", 2, "value", ["Value", "grader_probe"], ENGINE + ("utils.tensor.unbroadcast",)),
        _ex("week0_autograd", 3, "backward", ["topological_order"], ENGINE),
        _ex("week0_autograd", 4, "numgrad", ["numerical_gradient"],
            ENGINE + ("utils.gradcheck.numerical_grad", "utils.gradcheck.gradcheck")),
        _ex("week0_autograd", 5, "mlp", ["mlp_forward", "cross_entropy", "sgd_step"],
            ENGINE + ("utils.losses.cross_entropy", "utils.optim.SGD")),
    ),
    "week1_alexnet": (
        _ex("week1_alexnet", 1, "conv_size", ["conv_output_size"], ["utils.nn.conv.output_size"]),
        _ex("week1_alexnet", 2, "conv_naive", ["conv2d_naive"],
            CONV + ("utils.nn.conv.windows",)),
    ),
    "week2_resnet": (
        _ex("week2_resnet", 1, "batchnorm", ["batchnorm2d_forward"],
            ["utils.nn.normalization.batch_norm", "utils.nn.normalization.BatchNorm2d", "utils.nn.normalization.BatchNorm1d"]),
    ),
    "week3_lstm": (
        _ex("week3_lstm", 1, "lstm_cell", ["lstm_cell_forward"],
            ["utils.nn.recurrent.LSTMCell", "utils.nn.recurrent.LSTM", "utils.nn.recurrent.lstm_layer"]),
    ),
    "week4_attention": (
        _ex("week4_attention", 1, "sdpa", ["scaled_dot_product_attention"], ATTENTION),
        _ex("week4_attention", 2, "masks", ["causal_mask", "padding_mask"],
            ["utils.nn.attention.causal_mask", "utils.checks.week5_transformer.causal_mask",
             "utils.checks.week5_transformer.padding_mask"]),
        _ex("week4_attention", 3, "mha", ["MultiHeadAttention"], ATTENTION),
        _ex("week4_attention", 4, "cross", ["CrossAttention"], ATTENTION),
        _ex("week4_attention", 5, "lookup", ["PositionLookup"], ATTENTION),
    ),
    "week5_transformer": (
        _ex("week5_transformer", 1, "pe", ["positional_encoding"],
            ["utils.nn.embedding.sinusoidal_table", "utils.nn.embedding.PositionalEncoding"]),
        _ex("week5_transformer", 2, "feed_forward", ["FeedForward"], ["utils.nn.transformer.TransformerEncoderLayer"]),
        _ex("week5_transformer", 2, "encoder_layer", ["EncoderLayer"], ["utils.nn.transformer.TransformerEncoderLayer"]),
        _ex("week5_transformer", 3, "decoder_layer", ["DecoderLayer"], ["utils.nn.transformer.TransformerEncoderLayer"]),
        _ex("week5_transformer", 4, "transformer", ["Transformer"],
            ["utils.nn.transformer.TransformerEncoderLayer", "utils.nn.embedding.sinusoidal_table",
             "utils.nn.embedding.PositionalEncoding"]),
    ),
    "week6_vit": (
        _ex("week6_vit", 1, "patches", ["extract_patches"], CONV + PATCHES),
        _ex("week6_vit", 2, "patch_embedding", ["PatchEmbedding"], CONV + PATCHES),
    ),
}


def exercise(week: str, grade_id: str) -> Exercise:
    for ex in EXERCISES.get(week, ()):
        if ex.grade_id == grade_id:
            return ex
    raise KeyError(f"no exercise {grade_id!r} with a library counterpart in {week}")


def exercise_for_answer(name: str) -> Exercise | None:
    """The exercise whose answer defines ``name`` (answer names are unique across the course)."""
    for exercises in EXERCISES.values():
        for ex in exercises:
            if name in ex.answers:
                return ex
    return None


def resolve(path: str):
    """The object at a dotted path such as ``utils.nn.conv.conv2d``."""
    module, _, attr = path.rpartition(".")
    return getattr(importlib.import_module(module), attr)


# ---------------------------------------------------------------------- the guard
@dataclass
class _Guarded:
    path: str
    restore: list = field(default_factory=list)  # callables undoing the swap


class _Guard:
    """Process-wide state: which functions are swapped and which exercises are active."""

    def __init__(self):
        self.lock = threading.RLock()
        self.installed: dict[str, _Guarded] = {}
        self.originals: dict[int, object] = {}      # key -> original callable
        self.paths: dict[int, str] = {}             # key -> dotted path shown in the message
        self.active: list[Exercise] = []
        self.exempt_checks = False                  # visible checks' own reference code may call the library
        self.failed: set = set()                    # paths that could not be guarded (tests keep this empty)

    # -- dispatch
    def call(self, key: int, args, kwargs):
        exercise = self._refusing(key)
        if exercise is not None:
            raise DelegationError(exercise.message(self.paths[key]))
        return self.originals[key](*args, **kwargs)

    def _refusing(self, key: int):
        path = self.paths[key]
        for ex in reversed(self.active):
            if path in ex.library and not (self.exempt_checks and _called_by_checks()):
                return ex
        return None

    # -- installation
    def install(self, paths) -> None:
        with self.lock:
            for path in paths:
                if path not in self.installed:
                    try:
                        self.installed[path] = self._guard(path)
                    except Exception:  # noqa: BLE001 - a renamed helper must not stop grading; a test lists every path
                        self.failed.add(path)

    def uninstall(self, paths) -> None:
        with self.lock:
            for path in reversed(list(paths)):  # the reverse of install: stacked guards unwind in order
                guarded = self.installed.pop(path, None)
                if guarded is not None:
                    for undo in reversed(guarded.restore):
                        undo()

    def _guard(self, path: str) -> _Guarded:
        target = resolve(path)
        guarded = _Guarded(path)
        if isinstance(target, type):
            for name in ("__init__", "forward"):
                owner = next((c for c in target.__mro__ if name in c.__dict__), None)
                if owner is None or owner.__module__ == "utils.nn.module" or owner is object:
                    continue  # never guard Module itself: every layer inherits from it
                original = owner.__dict__[name]
                guarded.restore.append(self._swap_method(owner, name, original, path))
        elif isinstance(target, types.FunctionType):
            guarded.restore.append(self._swap_code(target, path))
        else:
            raise TypeError(f"cannot guard {path}: a {type(target).__name__}")
        return guarded

    def _register(self, original, path: str) -> int:
        key = len(self.originals) + 1
        while key in self.originals:
            key += 1
        self.originals[key] = original
        self.paths[key] = path
        return key

    def _swap_method(self, owner: type, name: str, original, path: str):
        key = self._register(original, path)
        guard = self

        @functools.wraps(original)
        def method(*args, **kwargs):
            return guard.call(key, args, kwargs)

        setattr(owner, name, method)
        return lambda: setattr(owner, name, original)

    def _swap_code(self, fn: types.FunctionType, path: str):
        if fn.__closure__:
            raise TypeError(f"cannot guard {path}: it closes over variables")
        original = types.FunctionType(fn.__code__, fn.__globals__, fn.__name__, fn.__defaults__, fn.__closure__)
        original.__kwdefaults__ = fn.__kwdefaults__
        key = self._register(original, path)
        scope: dict = {}
        source = f"def {fn.__name__}(*args, **kwargs):\n    return {DISPATCH_NAME}({key}, args, kwargs)\n"
        exec(compile(source, __file__, "exec"), scope)  # its frames count as this module's own
        saved = (fn.__code__, fn.__defaults__, fn.__kwdefaults__)
        fn.__globals__[DISPATCH_NAME] = self.call
        fn.__code__ = scope[fn.__name__].__code__
        fn.__defaults__, fn.__kwdefaults__ = None, None

        def undo():
            fn.__code__, fn.__defaults__, fn.__kwdefaults__ = saved
        return undo


def _called_by_checks() -> bool:
    """True when a visible check's own code, not a student's, asked for the library.

    Walking out from the guarded call, the library's own frames (``utils`` outside
    ``utils.checks``) are passed through: ``MultiHeadAttention.forward`` calling
    ``scaled_dot_product_attention`` for a check's reference is the check's call. The
    first frame outside the library decides.
    """
    frame = sys._getframe(1)
    while frame is not None:
        filename = frame.f_code.co_filename
        if filename == __file__:  # the guard's own frames (and the trampolines compiled under its name)
            frame = frame.f_back
            continue
        if filename.startswith(CHECKS_PREFIX):
            return True
        if not (filename.startswith(UTILS_PREFIX) or filename.endswith(("functools.py", "contextlib.py"))):
            return False
        frame = frame.f_back
    return False


GUARD = _Guard()


def library_paths(exercises) -> list[str]:
    return sorted({path for ex in exercises for path in ex.library})


def all_exercises() -> list[Exercise]:
    return [ex for exercises in EXERCISES.values() for ex in exercises]


def install_all() -> None:
    """Guard every counterpart of every exercise (the jail does this before loading the submission)."""
    GUARD.install(library_paths(all_exercises()))


@contextlib.contextmanager
def active(*exercises: Exercise):
    """Within this block the counterparts of ``exercises`` refuse to run (guards must be installed)."""
    with GUARD.lock:
        GUARD.active.extend(exercises)
    try:
        yield
    finally:
        with GUARD.lock:
            for ex in exercises:
                GUARD.active.remove(ex)


def activate_for_answer(name):
    """``active(...)`` for the exercise whose answer is ``name`` (a no-op context for any other name)."""
    ex = exercise_for_answer(name) if isinstance(name, str) else None
    return active(ex) if ex is not None else contextlib.nullcontext()


@contextlib.contextmanager
def forbidding(week: str, grade_id: str):
    """For one visible check: install the exercise's guards, activate them, restore everything after.

    The check's own code (this folder) may still call the library for its reference values;
    the student's code may not.
    """
    ex = exercise(week, grade_id)
    paths = [p for p in ex.library if p not in GUARD.installed]
    GUARD.install(paths)
    previous = GUARD.exempt_checks
    GUARD.exempt_checks = True
    try:
        with active(ex):
            yield ex
    finally:
        GUARD.exempt_checks = previous
        GUARD.uninstall(paths)


def forbids(week: str, grade_id: str):
    """Decorator for a visible check: run it under ``forbidding(week, grade_id)``."""
    def wrap(check):
        @functools.wraps(check)
        def run(*args, **kwargs):
            with forbidding(week, grade_id):
                return check(*args, **kwargs)
        return run
    return wrap


__all__ = ["DelegationError", "EXERCISES", "Exercise", "activate_for_answer", "active", "exercise", "forbidding",
           "forbids", "install_all"]
