"""Shared helpers for week 5's hidden checks: references with fixed weights, compared in float64."""
import numpy as np

from grader.checks.support import array, close
from utils import Tensor
from grader.checks.week5_transformer.reference import build_reference


def float64_reference(cls, *args, phase=0.3):
    ref = build_reference(cls, *args, phase=phase)
    ref.to(dtype=np.float64)
    return ref


def params_state(ref):
    return {k: np.asarray(v) for k, v in ref.state_dict().items()}


def run_both(student, class_name, init_kwargs, ref, inputs, upstream, method="forward", attrs=()):
    """Run the student's module and the reference on the same weights in float64, with backward.

    Returns (student result, reference output array, reference module, reference input Tensors).
    """
    res = student.module(class_name, init_kwargs, inputs, state=params_state(ref), dtype="float64",
                         backward=upstream, input_grad=True, attrs=list(attrs))
    ref.zero_grad()
    ref_inputs = [Tensor(x, requires_grad=True, dtype=np.float64) if isinstance(x, np.ndarray) and x.dtype.kind == "f" else x
                  for x in inputs]
    out = getattr(ref, method)(*ref_inputs)
    out.backward(upstream)
    return res, out.numpy(), ref, ref_inputs


def output_of(res):
    out = res.outputs[0] if isinstance(res.outputs, (tuple, list)) else res.outputs
    return array(out)


def assert_param_grads(res, ref, what):
    """Every parameter of the reference (the names the notebook prescribes) must be reported with
    the right gradient: a module that hides a parameter from its list cannot skip this check."""
    for name, p in ref.named_parameters():
        info = res.parameters.get(name)
        assert info is not None, f"{what}: the parameter {name} is missing from the model's parameters"
        assert info.grad is not None, f"{what}: no gradient reached the parameter {name} (is every submodule used in forward?)"
        assert info.dtype == "float64", f"{what}: the parameter {name} is not float64 after model.to(float64)"
        assert close(array(info.grad), p.grad, rtol=1e-6, atol=1e-8), f"{what}: the gradient of {name} is wrong"


def assert_dropout(student, class_name, init_kwargs, ref, off=(), extra_inputs=(), advice=""):
    """``class_name(**init_kwargs, dropout=0.5)`` with the reference's weights (the Linear layers in
    ``off`` set to zero, so only the sub-block that must drop can make a difference), fed one token
    twice: in training mode the two outputs must differ, in evaluation mode they must not."""
    state = {k: (np.zeros_like(v) if k.rsplit(".", 1)[0] in off else v) for k, v in params_state(ref).items()}
    width = init_kwargs["d_model"]
    twins = np.repeat(np.cos(np.arange(width) * 0.9)[None, None, :], 2, axis=1)  # (1, 2, width)
    rows = {}
    for train in (True, False):
        res = student.module(class_name, dict(init_kwargs, dropout=0.5), [twins, *extra_inputs], state=state,
                             dtype="float64", train=train)
        rows[train] = output_of(res)[0]  # (2, width)
    assert not np.allclose(rows[True][0], rows[True][1], rtol=1e-3, atol=1e-5), \
        f"{class_name}(..., dropout=0.5) in training mode gave two identical tokens the same output: {advice}"
    assert np.allclose(rows[False][0], rows[False][1], rtol=1e-6, atol=1e-8), \
        f"{class_name} in evaluation mode gave two identical tokens different outputs: dropout must be off in evaluation"
