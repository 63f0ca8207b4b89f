"""Hidden checks for Exercise 3, ``LSTMModel`` (3 points).

The visible check uses (4, 6, 3) inputs, hidden 5, 2 layers and 2 outputs; these use other
sizes (1 and 3 layers), batch size 1, a single time step, float64 and gradients. The
reference is rebuilt from the student's own weights (``return_state``), found by their
PyTorch names (``weight_ih_l0`` ...) and the head's shapes.
"""
import re

import numpy as np
import pytest

from grader.checks.support import array, close, waves
from utils import Tensor
from utils.nn import LSTM

pytestmark = pytest.mark.grade_cell("lstm_model_tests")
CLS = "LSTMModel"
LSTM_KEY = re.compile(r"(?:^|\.)((?:weight|bias)_(?:ih|hh)_l\d+)$")


def split_state(state, sizes):
    """(lstm state with plain names, head weight, head bias) from the student's state dict."""
    I, H, L, O = sizes["input_size"], sizes["hidden_size"], sizes["num_layers"], sizes["output_size"]
    lstm, rest = {}, {}
    for key, value in state.items():
        m = LSTM_KEY.search(key)
        (lstm.__setitem__(m.group(1), value) if m else rest.__setitem__(key, value))
    wanted = {f"{kind}_{path}_l{k}" for k in range(L) for kind in ("weight", "bias") for path in ("ih", "hh")}
    assert set(lstm) == wanted, (f"expected one utils.nn.LSTM with num_layers={L} (parameters weight_ih_l0 ... bias_hh_l{L - 1}); "
                                 "pass num_layers through and use utils.nn.LSTM")
    weights = [v for k, v in rest.items() if k.endswith("weight") and np.shape(v) == (O, H)]
    biases = [v for k, v in rest.items() if k.endswith("bias") and np.shape(v) == (O,)]
    assert len(weights) == 1 and len(biases) == 1 and len(rest) == 2, \
        f"expected exactly one Linear(hidden_size={H}, output_size={O}) head besides the LSTM"
    return lstm, weights[0], biases[0]


def reference(state, sizes, x, upstream=None):
    lstm_state, w, b = split_state(state, sizes)
    lstm = LSTM(sizes["input_size"], sizes["hidden_size"], sizes["num_layers"], batch_first=True).to(dtype=x.dtype)
    lstm.load_state_dict(lstm_state)
    tw, tb = Tensor(w, requires_grad=True, dtype=x.dtype), Tensor(b, requires_grad=True, dtype=x.dtype)
    tx = Tensor(x, requires_grad=True, dtype=x.dtype)
    out, _ = lstm(tx)  # (N, T, H)
    y = out[:, -1, :] @ tw.T + tb  # (N, O)
    grads = None
    if upstream is not None:
        y.backward(upstream)
        grads = {name: p.grad for name, p in lstm.named_parameters()}
        grads["head.weight"], grads["head.bias"], grads["input"] = tw.grad, tb.grad, tx.grad
    return y.numpy(), grads


def run(student, sizes, x, dtype=None, upstream=None):
    res = student.module(CLS, sizes, [x], dtype=dtype, backward=upstream, input_grad=upstream is not None, return_state=True)
    out = array(res.outputs)
    N, O = x.shape[0], sizes["output_size"]
    assert out.shape == (N, O), f"the output must have shape (N, output_size) = {(N, O)} for inputs of shape {x.shape}"
    return res, out


@pytest.mark.points(1)
def test_other_sizes(student):
    """Other sizes: 1 and 3 stacked layers, 4 outputs, sequences of 5 and 8 steps"""
    for sizes, shape in (({"input_size": 2, "hidden_size": 7, "num_layers": 3, "output_size": 4}, (3, 5, 2)),
                         ({"input_size": 4, "hidden_size": 3, "num_layers": 1, "output_size": 1}, (6, 8, 4))):
        x = waves(shape, 0.5)
        res, out = run(student, sizes, x)
        ref, _ = reference(res.state, sizes, x)
        assert close(out, ref), (f"wrong outputs with num_layers={sizes['num_layers']}: the head must read the top layer's "
                                 "hidden state at the last time step (output[:, -1, :] with batch_first=True)")


@pytest.mark.points(1)
def test_batch_one_single_step_float64(student):
    """Edge cases: batch size 1, a one-step sequence, and float64 precision"""
    sizes = {"input_size": 3, "hidden_size": 4, "num_layers": 2, "output_size": 2}
    for shape in ((1, 9, 3), (2, 1, 3)):
        x = waves(shape, 1.1, np.float64)
        res, out = run(student, sizes, x, dtype="float64")
        ref, _ = reference({k: np.asarray(v, dtype=np.float64) for k, v in res.state.items()}, sizes, x)
        assert close(out, ref, rtol=1e-10, atol=1e-12), f"wrong or imprecise outputs for inputs of shape {shape} in float64"


@pytest.mark.points(1)
def test_gradients_flow(student):
    """Gradients: backward through the model reaches every LSTM weight, the head and the input, with the right values"""
    sizes = {"input_size": 2, "hidden_size": 3, "num_layers": 2, "output_size": 2}
    x = waves((3, 4, 2), 0.2, np.float64)
    upstream = waves((3, 2), 2.2, np.float64)
    res, _ = run(student, sizes, x, dtype="float64", upstream=upstream)
    missing = [name for name, info in res.parameters.items() if info.grad is None]
    assert not missing, f"no gradient reached {', '.join(missing)}: keep forward in Tensor operations and use every layer"
    _, grads = reference(res.state, sizes, x, upstream)
    for name, info in res.parameters.items():
        m = LSTM_KEY.search(name)
        key = m.group(1) if m else ("head.weight" if name.endswith("weight") else "head.bias")
        assert close(array(info.grad), grads[key], rtol=1e-7, atol=1e-9), f"the gradient of {name} is wrong"
    assert res.input_grads and res.input_grads[0] is not None, "no gradient reached the input sequence"
    assert close(array(res.input_grads[0]), grads["input"], rtol=1e-7, atol=1e-9), "the gradient with respect to the input is wrong"
