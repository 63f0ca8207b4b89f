"""Visible checks for week 3 (LSTM for time series). Each runs in about a second.

Inputs are deterministic (no RNG) with distinct sizes per axis so that a swapped axis
fails loudly: batch 2, input 3, hidden 4 for the cell; windows of 4 steps over 2
features; a model with input 3, hidden 5, 2 layers, output 2 on (4, 6, 3) inputs.
Common mistakes are named: a wrong gate order, a missing tanh on the cell state,
(c, h) returned swapped, a target off by the horizon, the time and feature axes
swapped, the head reading the wrong time step, a missing ``batch_first=True``.
"""
from __future__ import annotations

import itertools

import numpy as np

from ..backend import asnumpy
from ..nn.linear import Linear
from ..nn.module import Module
from ..nn.recurrent import LSTM, LSTMCell
from ..tensor import Tensor, no_grad
from .delegation import forbids
from .result import CheckItem, CheckResult, check_close, check_gradients_reach_parameters, check_shape, check_true, run_student

GATES = ("i", "f", "g", "o")


def wave(shape, phase: float, scale: float = 1.0, dtype=np.float32) -> np.ndarray:
    """Deterministic, non-degenerate values of ``shape`` (no RNG involved)."""
    n = int(np.prod(shape))
    k = np.arange(n)
    return (scale * (np.sin(k * 0.73 + phase) + 0.35 * np.cos(k * 0.29 + 2 * phase))).reshape(shape).astype(dtype)


# ---------------------------------------------------------------------- Exercise 1: one LSTM step
def cell_inputs(N=2, I=3, H=4, dtype=np.float32):
    """``(x, h, c, weight_ih, weight_hh, bias_ih, bias_hh)`` as arrays of shapes
    (N, I), (N, H), (N, H), (4H, I), (4H, H), (4H,), (4H,)."""
    return (wave((N, I), 0.1, 1.2, dtype), wave((N, H), 0.7, 0.8, dtype), wave((N, H), 1.3, 1.5, dtype),
            wave((4 * H, I), 2.1, 0.9, dtype), wave((4 * H, H), 2.9, 0.7, dtype),
            wave((4 * H,), 3.7, 0.6, dtype), wave((4 * H,), 4.3, 0.5, dtype))


def cell_reference(x, h, c, weight_ih, weight_hh, bias_ih, bias_hh):
    """``(h_next, c_next)`` from ``utils.nn.LSTMCell`` with these weights (NumPy in, NumPy out)."""
    H = h.shape[1]
    cell = LSTMCell(x.shape[1], H, dtype=x.dtype)
    for name, value in (("weight_ih", weight_ih), ("weight_hh", weight_hh), ("bias_ih", bias_ih), ("bias_hh", bias_hh)):
        getattr(cell, name).data = np.array(value, dtype=x.dtype)
    with no_grad():
        h_next, c_next = cell(Tensor(x, dtype=x.dtype), (Tensor(h, dtype=x.dtype), Tensor(c, dtype=x.dtype)))
    return h_next.numpy(), c_next.numpy()


def _sigmoid(a):
    return 0.5 * (np.tanh(0.5 * a) + 1.0)


def _cell_variant(x, h, c, Wih, Whh, bih, bhh, order=GATES, g_act=np.tanh, tanh_c=True, hh_bias=True):
    """A NumPy LSTM step that reads the four gate blocks in ``order`` (for diagnosis)."""
    x, h, c, Wih, Whh, bih, bhh = (np.asarray(a, dtype=np.float64) for a in (x, h, c, Wih, Whh, bih, bhh))
    H = h.shape[1]
    a = x @ Wih.T + h @ Whh.T + bih + (bhh if hh_bias else 0.0)  # (N, 4H)
    blocks = {name: a[:, k * H:(k + 1) * H] for k, name in enumerate(order)}
    i, f, o = _sigmoid(blocks["i"]), _sigmoid(blocks["f"]), _sigmoid(blocks["o"])
    g = g_act(blocks["g"])
    c_next = f * c + i * g
    h_next = o * (np.tanh(c_next) if tanh_c else c_next)
    return h_next, c_next


def _diagnose_cell(args, h_got, c_got) -> str:
    def same(ref):
        return (h_got.shape == ref[0].shape and c_got.shape == ref[1].shape
                and np.allclose(h_got, ref[0], atol=1e-4) and np.allclose(c_got, ref[1], atol=1e-4))

    ref = _cell_variant(*args)
    if h_got.shape == ref[1].shape and np.allclose(h_got, ref[1], atol=1e-4) and np.allclose(c_got, ref[0], atol=1e-4):
        return "h and c come back swapped: return (h_next, c_next) in that order"
    for order in itertools.permutations(GATES):
        if order != GATES and same(_cell_variant(*args, order=order)):
            return (f"the gate blocks were read in the order ({', '.join(order)}); PyTorch's order is (i, f, g, o): "
                    "rows 0:H input gate, H:2H forget gate, 2H:3H candidate g, 3H:4H output gate")
    if same(_cell_variant(*args, tanh_c=False)):
        return "h_next = o * c_next is missing the tanh: h_next = o * tanh(c_next)"
    if same(_cell_variant(*args, g_act=_sigmoid)):
        return "the candidate g went through a sigmoid; it uses tanh (values in [-1, 1])"
    if same(_cell_variant(*args, hh_bias=False)):
        return "bias_hh was left out: PyTorch adds both bias_ih and bias_hh"
    if np.allclose(c_got, ref[1], atol=1e-4):
        return "c_next is right but h_next is not: h_next = o * tanh(c_next)"
    return ""


@forbids("week3_lstm", "lstm_cell")
def test_lstm_cell_forward(fn) -> CheckResult:
    """Check ``fn(x, h, c, weight_ih, weight_hh, bias_ih, bias_hh) -> (h_next, c_next)`` against ``LSTMCell``."""
    result = CheckResult("lstm_cell_forward")
    args = cell_inputs()
    raw, error = run_student("runs", fn, *(Tensor(a) for a in args))
    if error:
        result.add(error)
        return result
    if not isinstance(raw, (tuple, list)) or len(raw) != 2:
        result.add(CheckItem("returns (h_next, c_next)", False, f"expected a tuple (h_next, c_next), got {type(raw).__name__}"))
        return result
    result.add(check_true("returns Tensors", all(isinstance(t, Tensor) for t in raw),
                          "return utils Tensors (use Tensor operations such as @, .sigmoid(), .tanh()) so gradients can flow"))
    h_got, c_got = (asnumpy(t) for t in raw)
    shapes = [check_shape("h_next shape", h_got, (2, 4)), check_shape("c_next shape", c_got, (2, 4))]
    for item in shapes:
        result.add(item)
    if not all(item.passed for item in shapes):
        return result
    h_ref, c_ref = cell_reference(*args)
    c_item = check_close("c_next matches LSTMCell", c_got, c_ref, rtol=1e-4, atol=1e-5)
    h_item = check_close("h_next matches LSTMCell", h_got, h_ref, rtol=1e-4, atol=1e-5)
    if not (c_item.passed and h_item.passed):
        hint = _diagnose_cell(args, h_got.astype(np.float64), c_got.astype(np.float64))
        if hint:
            for item in (c_item, h_item):
                if not item.passed:
                    item.message = f"likely cause: {hint}. " + item.message
    result.add(c_item)
    result.add(h_item)
    return result


# ---------------------------------------------------------------------- Exercise 2: sliding windows
def windows_reference(series, seq_len: int, horizon: int = 1):
    """``(X, y)`` by an explicit loop: X (N, seq_len, F), y (N, F), N = T - seq_len - horizon + 1."""
    s = np.asarray(series)
    s = s[:, None] if s.ndim == 1 else s  # (T, F)
    N = len(s) - seq_len - horizon + 1
    X = np.stack([s[n:n + seq_len] for n in range(N)])  # (N, seq_len, F)
    y = np.stack([s[n + seq_len + horizon - 1] for n in range(N)])  # (N, F)
    return X, y


def _diagnose_windows(series, seq_len, horizon, X, y) -> str:
    s = np.asarray(series)
    s = s[:, None] if s.ndim == 1 else s
    ref_X, ref_y = windows_reference(series, seq_len, horizon)
    hints = []
    if X.shape == (ref_X.shape[0], ref_X.shape[2], ref_X.shape[1]) and ref_X.shape[1] != ref_X.shape[2]:
        hints.append(f"X has shape (N, features, seq_len) = {X.shape}: move the window axis before the features "
                     "(sliding_window_view puts the window last; transpose it)")
    if X.ndim == 2 and np.asarray(series).ndim == 1:
        hints.append("a 1-D series must still give X of shape (N, seq_len, 1) and y of shape (N, 1): add the feature axis first")
    if X.shape[0] == ref_X.shape[0] - 1:
        hints.append("one window is missing: there are T - seq_len - horizon + 1 windows")
    if y.shape == ref_y.shape and horizon > 1:
        if np.allclose(y, windows_reference(series, seq_len, 1)[1][:len(y)]):
            hints.append("the target ignores the horizon: y[n] is the value horizon steps after the window's last step")
    if y.shape == ref_y.shape and np.allclose(y, s[seq_len - 1:seq_len - 1 + len(y)]):
        hints.append("y is the window's own last value; the target lies after the window")
    return "; ".join(hints)


@forbids("week3_lstm", "make_windows")
def test_make_windows(fn) -> CheckResult:
    """Check ``fn(series, seq_len, horizon=1) -> (X, y)`` on a 1-D and a 2-feature series."""
    result = CheckResult("make_windows")
    uni = (np.arange(12, dtype=np.float32) * 1.5 + 0.25)  # (12,)
    multi = np.stack([np.arange(11, dtype=np.float32), 100 + 10 * np.arange(11, dtype=np.float32)], axis=1)  # (11, 2)
    cases = (("1-D series, seq_len=4", uni, 4, 1), ("2 features, seq_len=4", multi, 4, 1),
             ("2 features, seq_len=3, horizon=3", multi, 3, 3))
    for label, series, seq_len, horizon in cases:
        raw, error = run_student(f"runs ({label})", fn, series.copy(), seq_len, horizon) if horizon != 1 else \
            run_student(f"runs ({label})", fn, series.copy(), seq_len)
        if error:
            result.add(error)
            return result
        if not isinstance(raw, (tuple, list)) or len(raw) != 2:
            result.add(CheckItem(f"returns (X, y) ({label})", False, f"expected a tuple (X, y), got {type(raw).__name__}"))
            return result
        X, y = (asnumpy(a) for a in raw)
        ref_X, ref_y = windows_reference(series, seq_len, horizon)
        hint = ""
        x_shape, y_shape = check_shape(f"X shape ({label})", X, ref_X.shape), check_shape(f"y shape ({label})", y, ref_y.shape)
        if not (x_shape.passed and y_shape.passed):
            hint = _diagnose_windows(series, seq_len, horizon, np.asarray(X), np.asarray(y))
        x_item = check_close(f"X values ({label})", X, ref_X) if x_shape.passed else x_shape
        y_item = check_close(f"y values ({label})", y, ref_y) if y_shape.passed else y_shape
        if not (x_item.passed and y_item.passed) and not hint:
            hint = _diagnose_windows(series, seq_len, horizon, np.asarray(X), np.asarray(y))
        for item in (x_item, y_item):
            if not item.passed and hint:
                item.message = f"likely cause: {hint}. " + item.message
            result.add(item)
        if not (x_item.passed and y_item.passed):
            return result
    return result


# ---------------------------------------------------------------------- Exercise 3: the model
MODEL_SIZES = {"input_size": 3, "hidden_size": 5, "num_layers": 2, "output_size": 2}


def model_inputs(N=4, T=6, I=3, dtype=np.float32) -> np.ndarray:
    """(N, T, I) deterministic input sequences."""
    return wave((N, T, I), 0.4, 1.0, dtype)


def n_parameters(input_size, hidden_size, num_layers, output_size) -> int:
    """Parameters of an LSTM (with both biases) plus a Linear head."""
    H = hidden_size
    lstm = sum(4 * H * ((input_size if k == 0 else H) + H) + 8 * H for k in range(num_layers))
    return lstm + H * output_size + output_size


def _find(model, kind):
    return [m for m in model.modules() if isinstance(m, kind)]


def model_reference(lstm: LSTM, head: Linear, x: np.ndarray, reduce="last", batch_first=True) -> np.ndarray:
    """What the model should output, and what common mistakes output (for diagnosis)."""
    ref = LSTM(lstm.input_size, lstm.hidden_size, lstm.num_layers, batch_first=batch_first).to(dtype=x.dtype)
    ref.load_state_dict(lstm.state_dict())
    with no_grad():
        out, (h_n, _) = ref(Tensor(x, dtype=x.dtype))  # (N, T, H) (or (T, N, H)), (layers, N, H)
        if reduce == "last":
            feats = out[:, -1, :]  # (N, H) with batch_first
        elif reduce == "first":
            feats = out[:, 0, :]
        elif reduce == "mean":
            feats = out.mean(axis=1)
        else:  # "h_n[0]": the first layer's final state
            feats = h_n[0]
        return (feats @ head.weight.T + head.bias).numpy() if head.bias is not None else (feats @ head.weight.T).numpy()


def _diagnose_model(lstm, head, x, got) -> str:
    for reduce, batch_first, hint in (
            ("last", False, "the LSTM reads (N, T, I) inputs as (T, N, I): create it with batch_first=True"),
            ("first", True, "the head reads the first time step; it should read the last one, output[:, -1, :]"),
            ("mean", True, "the head reads the mean over time; it should read the last time step, output[:, -1, :]"),
            ("h_n[0]", True, "the head reads h_n[0], the FIRST layer's final state; use output[:, -1, :] (or h_n[-1])")):
        try:
            alt = model_reference(lstm, head, x, reduce, batch_first)
        except Exception:
            continue
        if alt.shape == got.shape and np.allclose(alt, got, atol=1e-4):
            return hint
    return ""


def test_lstm_forward(cls) -> CheckResult:
    """Check ``cls(input_size, hidden_size, num_layers, output_size)`` on (4, 6, 3) inputs."""
    result = CheckResult("LSTMModel")
    sizes = MODEL_SIZES
    model, error = run_student("builds LSTMModel(input_size=3, hidden_size=5, num_layers=2, output_size=2)", cls, **sizes)
    if error:
        result.add(error)
        return result
    if not isinstance(model, Module):
        result.add(CheckItem("is a Module", False, "LSTMModel must subclass utils.nn.Module"))
        return result
    lstms, heads = _find(model, LSTM), _find(model, Linear)
    layout = check_true("uses one utils.nn.LSTM", len(lstms) == 1,
                        f"found {len(lstms)} utils.nn.LSTM submodules; assign exactly one in __init__ (self.lstm = LSTM(...))")
    result.add(layout)
    if not layout.passed:
        return result
    lstm = lstms[0]
    result.add(check_true("LSTM sizes", (lstm.input_size, lstm.hidden_size, lstm.num_layers) == (3, 5, 2),
                          f"LSTM(input_size={lstm.input_size}, hidden_size={lstm.hidden_size}, num_layers={lstm.num_layers}); "
                          "expected LSTM(3, 5, num_layers=2): pass the constructor's arguments through"))
    heads = [m for m in heads if (m.in_features, m.out_features) == (5, 2)]
    head_item = check_true("a Linear(hidden_size, output_size) head", len(heads) == 1,
                           "expected one Linear(5, 2) head mapping the last hidden state to the outputs")
    result.add(head_item)
    count = sum(int(np.prod(p.shape)) for p in model.parameters())
    want = n_parameters(**sizes)
    result.add(check_true("number of parameters", count == want, f"the model has {count} parameters, expected {want} "
                                                                  "(one LSTM with both biases plus one Linear head, nothing else)"))
    if not head_item.passed:
        return result

    x = model_inputs()
    model.eval()
    out, error = run_student("forward on (4, 6, 3) inputs", model, Tensor(x))
    if error:
        result.add(error)
        return result
    shape = check_shape("output shape (N, output_size)", out, (4, 2))
    result.add(shape)
    if not shape.passed:
        return result
    got = asnumpy(out)
    expected = model_reference(lstm, heads[0], x)
    values = check_close("output = head(last time step of the LSTM output)", got, expected, rtol=1e-4, atol=1e-5)
    if not values.passed:
        hint = _diagnose_model(lstm, heads[0], x, got)
        if hint:
            values.message = f"likely cause: {hint}. " + values.message
    result.add(values)

    model.train()
    out, error = run_student("forward pass (train)", model, Tensor(x))
    if error:
        result.add(error)
        return result
    result.add(check_gradients_reach_parameters(model, out))
    return result


__all__ = ["cell_inputs", "cell_reference", "model_inputs", "model_reference", "n_parameters", "test_lstm_cell_forward",
           "test_lstm_forward", "test_make_windows", "wave", "windows_reference"]
