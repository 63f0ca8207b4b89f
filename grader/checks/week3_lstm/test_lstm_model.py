"""Hidden checks for Exercise 3, ``LSTMModel`` (3 points).

The visible check uses (4, 6, 3) inputs, hidden 5, 2 layers and 2 outputs; these use other
sizes (1 and 3 layers), batch size 1, a single time step, float64 and gradients. Every check
loads the grader's own weights into the student's model (``load_state_dict``; the model's
parameter names are used only as addresses, matched by shape) and compares outputs and
gradients with a reference LSTM and head built from those same arrays; a second weight set
must change the outputs, so a model that ignores its parameters fails.
"""
import numpy as np
import pytest

from grader.checks.support import array, assign_by_shape, close, moved, reported_layout, waves, weight_set
from utils import Tensor
from utils.nn import LSTM

pytestmark = pytest.mark.grade_cell("lstm_model_tests")
CLS = "LSTMModel"


def roles(sizes):
    """``[(role, shape)]`` of one LSTM(I, H, L) (PyTorch's names and order) and a Linear(H, O) head."""
    I, H, L, O = sizes["input_size"], sizes["hidden_size"], sizes["num_layers"], sizes["output_size"]
    out = []
    for k in range(L):
        out += [(f"weight_ih_l{k}", (4 * H, I if k == 0 else H)), (f"weight_hh_l{k}", (4 * H, H)),
                (f"bias_ih_l{k}", (4 * H,)), (f"bias_hh_l{k}", (4 * H,))]
    return out + [("head.weight", (O, H)), ("head.bias", (O,))]


def weights_for(student, sizes, phase):
    """``(state to load, {role: array}, {role: student's name})`` for one weight set."""
    layout = reported_layout(student, CLS, sizes)
    names = assign_by_shape(layout, roles(sizes), f"one utils.nn.LSTM({sizes['input_size']}, {sizes['hidden_size']}, "
                                                  f"num_layers={sizes['num_layers']}) and a Linear head")
    values = weight_set(roles(sizes), phase, scale=1.5)
    return {names[r]: v for r, v in values.items()}, values, names


def reference(values, sizes, x, upstream=None):
    """What the model computes with ``values``: ``(outputs (N, O), {role: gradient} or None)``."""
    dt = x.dtype
    lstm = LSTM(sizes["input_size"], sizes["hidden_size"], sizes["num_layers"], batch_first=True).to(dtype=dt)
    lstm.load_state_dict({r: v.astype(dt) for r, v in values.items() if not r.startswith("head.")})
    tw = Tensor(values["head.weight"].astype(dt), requires_grad=True, dtype=dt)
    tb = Tensor(values["head.bias"].astype(dt), requires_grad=True, dtype=dt)
    tx = Tensor(x, requires_grad=True, dtype=dt)
    out, _ = lstm(tx)  # (N, T, H)
    y = out[:, -1, :] @ tw.T + tb  # (N, O)
    grads = None
    if upstream is not None:
        y.backward(upstream)
        grads = {name: p.grad for name, p in lstm.named_parameters()}
        grads["head.weight"], grads["head.bias"], grads["input"] = tw.grad, tb.grad, tx.grad
    return y.numpy(), grads


def run(student, sizes, x, state, dtype=None, upstream=None):
    res = student.module(CLS, sizes, [x], state=state, dtype=dtype, backward=upstream, input_grad=upstream is not None)
    out = array(res.outputs)
    N, O = x.shape[0], sizes["output_size"]
    assert out.shape == (N, O), f"the output must have shape (N, output_size) = {(N, O)} for inputs of shape {x.shape}"
    return res, out


@pytest.mark.points(1)
def test_other_sizes(student):
    """Other sizes: 1 and 3 stacked layers, 4 outputs, sequences of 5 and 8 steps, with the grader's weights"""
    for sizes, shape in (({"input_size": 2, "hidden_size": 7, "num_layers": 3, "output_size": 4}, (3, 5, 2)),
                         ({"input_size": 4, "hidden_size": 3, "num_layers": 1, "output_size": 1}, (6, 8, 4))):
        x = waves(shape, 0.5)
        outs = []
        for phase in (0.3, 1.9):
            state, values, _ = weights_for(student, sizes, phase)
            _, out = run(student, sizes, x, state)
            ref, _ = reference(values, sizes, x)
            assert close(out, ref), (f"wrong outputs with num_layers={sizes['num_layers']} and the weights the grader loaded: "
                                     "the head must read the top layer's hidden state at the last time step "
                                     "(output[:, -1, :] with batch_first=True)")
            outs.append(out)
        assert moved(*outs), "the outputs did not change when the weights changed: does forward use the model's parameters?"


@pytest.mark.points(1)
def test_batch_one_single_step_float64(student):
    """Edge cases: batch size 1, a one-step sequence, and float64 precision"""
    sizes = {"input_size": 3, "hidden_size": 4, "num_layers": 2, "output_size": 2}
    state, values, _ = weights_for(student, sizes, 2.6)
    for shape in ((1, 9, 3), (2, 1, 3)):
        x = waves(shape, 1.1, np.float64)
        _, out = run(student, sizes, x, state, dtype="float64")
        ref, _ = reference(values, sizes, x)
        assert close(out, ref, rtol=1e-10, atol=1e-12), f"wrong or imprecise outputs for inputs of shape {shape} in float64"


@pytest.mark.points(1)
def test_gradients_flow(student):
    """Gradients: backward through the model reaches every LSTM weight, the head and the input, with the right values"""
    sizes = {"input_size": 2, "hidden_size": 3, "num_layers": 2, "output_size": 5}
    x = waves((3, 4, 2), 0.2, np.float64)
    upstream = waves((3, 5), 2.2, np.float64)
    state, values, names = weights_for(student, sizes, 0.8)
    res, _ = run(student, sizes, x, state, dtype="float64", upstream=upstream)
    missing = [name for name, info in res.parameters.items() if info.grad is None]
    assert not missing, f"no gradient reached {', '.join(missing)}: keep forward in Tensor operations and use every layer"
    _, grads = reference(values, sizes, x, upstream)
    for role, name in names.items():
        info = res.parameters.get(name)
        assert info is not None and info.grad is not None, f"no gradient reached {name}"
        assert close(array(info.grad), grads[role], rtol=1e-7, atol=1e-9), f"the gradient of {name} is wrong"
    assert res.input_grads and res.input_grads[0] is not None, "no gradient reached the input sequence"
    assert close(array(res.input_grads[0]), grads["input"], rtol=1e-7, atol=1e-9), "the gradient with respect to the input is wrong"
