"""Builds the parameter state the week-2 hidden checks load into a student's module.

The values depend on a parameter's shape (so attribute names and registration order do
not matter) and on a phase chosen here, on the grader's side. The visible checks' values
(``utils.checks.week2_resnet.shape_values``) are public; these are not, so a module that
ignores what ``load_state_dict`` gives it and recomputes with the public values fails.
"""
import numpy as np

from utils.checks.week2_resnet import running_stats, shape_values

PHASES = (0.9, 2.3, 3.7)  # one weight set per case: outputs must follow the weights


def weight_values(shape, phase: float, dtype=np.float64) -> np.ndarray:
    """``shape_values(shape)`` scaled entry by entry by 1 + 0.5 sin(phase + 0.73 k): shape (shape)."""
    base = shape_values(shape)
    factor = 1.0 + 0.5 * np.sin(phase + 0.73 * np.arange(base.size)).reshape(base.shape)
    return (base * factor).astype(dtype)


def parameter_state(shapes: dict, phase: float) -> dict:
    """``{name: array}`` for ``{name: shape}``; a convolution's bias is zero (with or without one, the same answer)."""
    values = {}
    for name, shape in shapes.items():
        sibling = name[: -len("bias")] + "weight" if name.endswith("bias") else None
        values[name] = np.zeros(shape) if sibling is not None and len(shapes.get(sibling, ())) == 4 else weight_values(shape, phase)
    return values


def state_for(student, class_name, init_kwargs, probe, phase: float):
    """A full float64 state dict for the student's module: parameters from their shapes and
    ``phase``, running statistics from ``running_stats``, other buffers as they are.

    Only the names and shapes the module reports are used, as addresses; every value
    compared later comes from the reference built with the same ``phase``.
    """
    info = student.module(class_name, init_kwargs, [probe], train=False, dtype="float64", return_state=True)
    state = parameter_state({name: p.shape for name, p in info.parameters.items()}, phase)
    for name, value in (info.state or {}).items():
        value = np.asarray(value)
        if name in state:
            continue
        if name.endswith("running_mean"):
            state[name] = running_stats(value.shape[0])[0]
        elif name.endswith("running_var"):
            state[name] = running_stats(value.shape[0])[1]
        else:
            state[name] = value
    return state
