"""Visible checks for week 3 (LSTM for time series). Each runs in about a second.

Inputs are deterministic (no RNG) with distinct sizes per axis so that a swapped axis
fails loudly: batch 2, input 3, hidden 4 for the cell; windows of 4 steps over 2
features; a model with input 3, hidden 5, 2 layers, output 2 on (4, 6, 3) inputs.
Common mistakes are named: a wrong gate order, a missing tanh on the cell state,
(c, h) returned swapped, tanh on the forget gate, the old cell state not carried over,
g added without the input gate, c used where h belongs, a target off by the horizon,
one window too many, the time and feature axes swapped or reshaped, the head reading
the wrong time step, a missing ``batch_first=True``, a Python loop over the windows (its
line count, traced, grows with the series). A cell computed outside the Tensor
graph fails a gradient check; windows and the model must keep float64 data float64.
"""
from __future__ import annotations

import itertools

import numpy as np

from ..backend import asnumpy
from ..nn.linear import Linear
from ..nn.module import Module
from ..nn.recurrent import LSTM
from ..tensor import Tensor, no_grad
from .delegation import forbids
from .stored import load_goldens, prefixed, section
from .tracing import count_lines
from .result import CheckItem, CheckResult, check_close, check_gradients_reach_inputs, check_gradients_reach_parameters, check_shape, check_true, run_student

GATES = ("i", "f", "g", "o")
LOOP_SLACK = 20  # extra traced lines tolerated for a 10x longer series (a loop adds about 360)


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


WEEK = "week3_lstm"
ORDERS = [order for order in itertools.permutations(GATES) if order != GATES]


def _order_key(order) -> str:
    return "".join(order)


def _reordered(args, order):
    """The cell inputs with the gate blocks of every weight and bias stacked in ``order``: a correct
    cell on these computes what a cell reading the blocks in ``order`` computes on ``args``."""
    x, h, c, *params = args
    H = h.shape[1]
    rows = np.concatenate([np.arange(GATES.index(name) * H, (GATES.index(name) + 1) * H) for name in order])
    return (x, h, c, *(p[rows] for p in params))


def cell_goldens(fn) -> dict:
    """The cell case through ``fn`` (a reference answer): the right ``(h_next, c_next)``, and what a
    cell reading the gate blocks in every other order, or leaving out bias_hh, gives."""
    def run(args):
        h_next, c_next = fn(*(Tensor(a) for a in args))
        return {"h": asnumpy(h_next), "c": asnumpy(c_next)}

    args = cell_inputs()
    out = prefixed("cell/expected", run(args))
    for order in ORDERS:
        out.update(prefixed(f"cell/order/{_order_key(order)}", run(_reordered(args, order))))
    x, h, c, wih, whh, bih, bhh = args
    out.update(prefixed("cell/no_bias_hh", run((x, h, c, wih, whh, bih, np.zeros_like(bhh)))))
    return out


def _sigmoid(z):
    return 1.0 / (1.0 + np.exp(-z))


def _cell_variant(forget="sigmoid", carry=True, input_gate=True, state="h"):
    """``(h_next, c_next)`` of one typical mistake on the check's inputs, in float64 (for the diagnosis only):
    ``forget="tanh"`` squashes the forget gate with tanh, ``carry=False`` drops f * c, ``input_gate=False``
    adds g without the input gate, ``state="c"`` feeds the cell state where the hidden state belongs."""
    x, h, c, wih, whh, bih, bhh = (a.astype(np.float64) for a in cell_inputs())
    H = h.shape[1]
    z = x @ wih.T + (c if state == "c" else h) @ whh.T + bih + bhh
    i, f, g, o = (z[:, k * H:(k + 1) * H] for k in range(4))
    i, f, g, o = _sigmoid(i), (np.tanh(f) if forget == "tanh" else _sigmoid(f)), np.tanh(g), _sigmoid(o)
    c_next = (f * c if carry else 0.0) + (i * g if input_gate else g)
    return o * np.tanh(c_next), c_next


_CELL_MISTAKES = (
    ({"forget": "tanh"}, "the forget gate went through tanh; all three gates (i, f, o) use sigmoid, only g uses tanh"),
    ({"carry": False}, "the old cell state is not carried over: c_next = f * c + i * g"),
    ({"input_gate": False}, "g is added without the input gate: c_next = f * c + i * g, not f * c + g"),
    ({"state": "c"}, "the cell state c was used where the hidden state h belongs: the gates are x @ W_ih.T + h @ W_hh.T + biases"),
)


def _diagnose_cell(h_got, c_got) -> str:
    golden = load_goldens(WEEK)

    def same(key):
        ref_h, ref_c = golden[f"{key}/h"], golden[f"{key}/c"]
        return (h_got.shape == ref_h.shape and c_got.shape == ref_c.shape
                and np.allclose(h_got, ref_h, atol=1e-4) and np.allclose(c_got, ref_c, atol=1e-4))

    h_ref, c_ref = golden["cell/expected/h"].astype(np.float64), golden["cell/expected/c"].astype(np.float64)
    if h_got.shape == c_ref.shape and np.allclose(h_got, c_ref, atol=1e-4) and np.allclose(c_got, h_ref, atol=1e-4):
        return "h and c come back swapped: return (h_next, c_next) in that order"
    for order in ORDERS:
        if same(f"cell/order/{_order_key(order)}"):
            return (f"the gate blocks were read in the order ({', '.join(order)}); PyTorch's order is (i, f, g, o): "
                    "rows 0:H input gate, H:2H forget gate, 2H:3H candidate g, 3H:4H output gate")
    if np.allclose(c_got, c_ref, atol=1e-4) and np.allclose(h_got, h_ref * c_ref / np.tanh(c_ref), atol=1e-4):
        return "h_next = o * c_next is missing the tanh: h_next = o * tanh(c_next)"
    if same("cell/no_bias_hh"):
        return "bias_hh was left out: PyTorch adds both bias_ih and bias_hh"
    for options, hint in _CELL_MISTAKES:
        h_alt, c_alt = _cell_variant(**options)
        if np.allclose(h_got, h_alt, atol=1e-4) and np.allclose(c_got, c_alt, atol=1e-4):
            return hint
    if np.allclose(c_got, c_ref, atol=1e-4):
        return "c_next is right but h_next is not: h_next = o * tanh(c_next)"
    return ""


@forbids("week3_lstm", "lstm_cell")
def test_lstm_cell_forward(fn) -> CheckResult:
    """Check ``fn(x, h, c, weight_ih, weight_hh, bias_ih, bias_hh) -> (h_next, c_next)`` against stored outputs."""
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
    golden = section(load_goldens(WEEK), "cell/expected")
    h_ref, c_ref = golden["h"], golden["c"]
    c_item = check_close("c_next matches", c_got, c_ref, rtol=1e-4, atol=1e-5)
    h_item = check_close("h_next matches", h_got, h_ref, rtol=1e-4, atol=1e-5)
    if not (c_item.passed and h_item.passed):
        hint = _diagnose_cell(h_got.astype(np.float64), c_got.astype(np.float64))
        if hint:
            for item in (c_item, h_item):
                if not item.passed:
                    item.message = f"likely cause: {hint}. " + item.message
    result.add(c_item)
    result.add(h_item)
    names = ("x", "h", "c", "weight_ih", "weight_hh", "bias_ih", "bias_hh")
    for label, pick in (("h_next", lambda r: r[0]), ("c_next", lambda r: r[1])):
        result.add(check_gradients_reach_inputs(fn, dict(zip(names, args)), f"gradients flow back from {label}", pick=pick))
    return result


# ---------------------------------------------------------------------- Exercise 2: sliding windows
def _windows_cases():
    """``(label, key, series, seq_len, horizon)`` of the window checks."""
    uni = (np.arange(12, dtype=np.float32) * 1.5 + 0.25)  # (12,)
    multi = np.stack([np.arange(11, dtype=np.float32), 100 + 10 * np.arange(11, dtype=np.float32)], axis=1)  # (11, 2)
    return (("1-D series, seq_len=4", "uni4", uni, 4, 1), ("2 features, seq_len=4", "multi4", multi, 4, 1),
            ("2 features, seq_len=3, horizon=3", "multi3h3", multi, 3, 3))


def windows_goldens(fn) -> dict:
    """The window cases through ``fn`` (a reference answer), and each case's targets for horizon 1."""
    out = {}
    for _, key, series, seq_len, horizon in _windows_cases():
        X, y = fn(series.copy(), seq_len, horizon)
        out[f"windows/{key}/X"], out[f"windows/{key}/y"] = np.asarray(X), np.asarray(y)
        out[f"windows/{key}/y_horizon1"] = np.asarray(fn(series.copy(), seq_len, 1)[1])
    return out


def _diagnose_windows(key, series, seq_len, horizon, X, y) -> str:
    s = np.asarray(series)
    s = s[:, None] if s.ndim == 1 else s
    golden = section(load_goldens(WEEK), f"windows/{key}")
    ref_X, ref_y = golden["X"], golden["y"]
    hints = []
    if X.shape == (ref_X.shape[0], ref_X.shape[2], ref_X.shape[1]) and ref_X.shape[1] != ref_X.shape[2]:
        hints.append(f"X has shape (N, features, seq_len) = {X.shape}: move the window axis before the features "
                     "(sliding_window_view puts the window last; transpose it)")
    if X.ndim == 2 and np.asarray(series).ndim == 1:
        hints.append("a 1-D series must still give X of shape (N, seq_len, 1) and y of shape (N, 1): add the feature axis first")
    if X.shape[0] == ref_X.shape[0] - 1:
        hints.append("one window is missing: there are T - seq_len - horizon + 1 windows")
    if X.shape[0] == ref_X.shape[0] + 1 or (y.ndim and y.shape[0] == ref_y.shape[0] + 1):
        hints.append("one window too many: the last window must still have a target horizon steps after it, "
                     "so there are T - seq_len - horizon + 1 windows")
    if X.shape == ref_X.shape and not np.allclose(X, ref_X):
        by_reshape = np.asarray(ref_X).transpose(0, 2, 1).reshape(ref_X.shape)  # (N, F, seq_len) read as (N, seq_len, F)
        if np.allclose(X, by_reshape):
            hints.append("X was reshaped from (N, features, seq_len) to (N, seq_len, features), which mixes the features "
                         "and time steps; swap the axes with a transpose instead")
    if y.shape == ref_y.shape and horizon > 1:
        if np.allclose(y, golden["y_horizon1"][:len(y)]):
            hints.append("the target ignores the horizon: y[n] is the value horizon steps after the window's last step")
    if y.shape == ref_y.shape and np.allclose(y, s[seq_len - 1:seq_len - 1 + len(y)]):
        hints.append("y is the window's own last value; the target lies after the window")
    return "; ".join(hints)


def test_make_windows(fn) -> CheckResult:
    """Check ``fn(series, seq_len, horizon=1) -> (X, y)`` on a 1-D and a 2-feature series."""
    result = CheckResult("make_windows")
    for label, key, series, seq_len, horizon in _windows_cases():
        raw, error = run_student(f"runs ({label})", fn, series.copy(), seq_len, horizon) if horizon != 1 else \
            run_student(f"runs ({label})", fn, series.copy(), seq_len)
        if error:
            result.add(error)
            return result
        if not isinstance(raw, (tuple, list)) or len(raw) != 2:
            result.add(CheckItem(f"returns (X, y) ({label})", False, f"expected a tuple (X, y), got {type(raw).__name__}"))
            return result
        X, y = (asnumpy(a) for a in raw)
        golden = section(load_goldens(WEEK), f"windows/{key}")
        ref_X, ref_y = golden["X"], golden["y"]
        hint = ""
        x_shape, y_shape = check_shape(f"X shape ({label})", X, ref_X.shape), check_shape(f"y shape ({label})", y, ref_y.shape)
        if not (x_shape.passed and y_shape.passed):
            hint = _diagnose_windows(key, series, seq_len, horizon, np.asarray(X), np.asarray(y))
        x_item = check_close(f"X values ({label})", X, ref_X) if x_shape.passed else x_shape
        y_item = check_close(f"y values ({label})", y, ref_y) if y_shape.passed else y_shape
        if not (x_item.passed and y_item.passed) and not hint:
            hint = _diagnose_windows(key, series, seq_len, horizon, np.asarray(X), np.asarray(y))
        for item in (x_item, y_item):
            if not item.passed and hint:
                item.message = f"likely cause: {hint}. " + item.message
            result.add(item)
        if not (x_item.passed and y_item.passed):
            return result
    series = _windows_cases()[1][2].astype(np.float64)
    given = series.copy()
    raw, error = run_student("runs on a float64 series", fn, series, 4)
    if error:
        result.add(error)
        return result
    dtypes = {np.asarray(asnumpy(a)).dtype for a in raw} if isinstance(raw, (tuple, list)) else {None}
    result.add(check_true("keeps the series' dtype (float64 in, float64 out)", dtypes == {np.dtype(np.float64)},
                          f"a float64 series gave X and y of dtype {sorted(map(str, dtypes))}: slice and transpose only, "
                          "no .astype(...) (the model trains in the data's dtype)"))
    result.add(check_true("leaves the caller's series unchanged", np.array_equal(series, given),
                          "the series passed in was modified: build X and y from it without writing into it"))
    _check_no_loop(result, fn)
    return result


def _check_no_loop(result: CheckResult, fn) -> None:
    """``fn`` on a 2-feature series of 40 and of 400 steps must run the same Python lines: a loop over
    the windows runs its body once per window (counted by tracing, never timed)."""
    counts = []
    for T in (40, 400):
        series = np.stack([np.arange(T, dtype=np.float64), np.cos(np.arange(T, dtype=np.float64))], axis=1)  # (T, 2)
        (_, lines), error = run_student(f"runs on a {T}-step series", count_lines, fn, series, 4)
        if error:
            result.add(error)
            return
        counts.append(lines)
    extra = counts[1] - counts[0]
    result.add(check_true("no Python loop over the windows", extra < LOOP_SLACK,
                          f"a 10x longer series ran {extra} more lines of your Python code ({counts[0]} -> {counts[1]}): "
                          "a loop over the windows? sliding_window_view makes them all in one call"))


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


def shape_values(shape, dtype=np.float32) -> np.ndarray:
    """Deterministic values for a parameter of ``shape``, from its shape alone (so names and
    registration order do not matter), scaled by 1/sqrt(last axis) to keep the gates unsaturated."""
    shape = tuple(int(n) for n in shape)
    phase = 0.1 * sum((i + 1) * n for i, n in enumerate(shape))
    return (wave(shape, phase, 0.8, np.float64) / np.sqrt(shape[-1])).astype(dtype)


def fill_by_shape(model) -> None:
    """Overwrite every parameter of ``model`` with ``shape_values`` of its shape (in place)."""
    for _, p in model.named_parameters():
        p.data[...] = shape_values(p.shape, p.data.dtype)


def _mistaken_outputs(lstm: LSTM, head: Linear, x: np.ndarray) -> dict:
    """What four common mistakes output with ``lstm``'s and ``head``'s weights (for the diagnosis):
    the LSTM reading (N, T, I) as time-major, and the head reading the first step, the mean over
    time or the first layer's final state."""
    def run(batch_first):
        twin = LSTM(lstm.input_size, lstm.hidden_size, lstm.num_layers, batch_first=batch_first).to(dtype=x.dtype)
        twin.load_state_dict(lstm.state_dict())
        return twin(Tensor(x, dtype=x.dtype))

    def project(feats):
        return asnumpy(feats @ head.weight.T + head.bias)

    with no_grad():
        time_major, _ = run(False)  # (N, T, H) read as (T, N, H)
        out, (h_n, _) = run(True)  # (N, T, H), (layers, N, H)
        return {"time_major": project(time_major[:, -1, :]), "first_step": project(out[:, 0, :]),
                "mean_over_time": project(out.mean(axis=1)), "first_layer_state": project(h_n[0])}


def _model_parts(model):
    lstms = _find(model, LSTM)
    heads = [m for m in _find(model, Linear) if (m.in_features, m.out_features) == (MODEL_SIZES["hidden_size"], MODEL_SIZES["output_size"])]
    return lstms, heads


def model_goldens(cls) -> dict:
    """The model case through ``cls`` (the reference answer) with ``fill_by_shape`` weights, in
    evaluation mode: its outputs, and the outputs of the mistakes ``_mistaken_outputs`` makes."""
    model = cls(**MODEL_SIZES)
    fill_by_shape(model)
    model.eval()
    x = model_inputs()
    with no_grad():
        out = {"model/expected": asnumpy(model(Tensor(x)))}
    (lstm,), (head,) = _model_parts(model)
    out.update(prefixed("model/variant", _mistaken_outputs(lstm, head, x)))
    return out


_HINTS = {
    "time_major": "the LSTM reads (N, T, I) inputs as (T, N, I): create it with batch_first=True",
    "first_step": "the head reads the first time step; it should read the last one, output[:, -1, :]",
    "mean_over_time": "the head reads the mean over time; it should read the last time step, output[:, -1, :]",
    "first_layer_state": "the head reads h_n[0], the FIRST layer's final state; use output[:, -1, :] (or h_n[-1])",
}


def _diagnose_model(got) -> str:
    variants = section(load_goldens(WEEK), "model/variant")
    for name, hint in _HINTS.items():
        alt = variants[name]
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
    lstms, heads = _model_parts(model)
    layout = check_true("uses one utils.nn.LSTM", len(lstms) == 1,
                        f"found {len(lstms)} utils.nn.LSTM submodules; assign exactly one in __init__ (self.lstm = LSTM(...))")
    result.add(layout)
    if not layout.passed:
        return result
    lstm = lstms[0]
    result.add(check_true("LSTM sizes", (lstm.input_size, lstm.hidden_size, lstm.num_layers) == (3, 5, 2),
                          f"LSTM(input_size={lstm.input_size}, hidden_size={lstm.hidden_size}, num_layers={lstm.num_layers}); "
                          "expected LSTM(3, 5, num_layers=2): pass the constructor's arguments through"))
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
    fill_by_shape(model)  # the check's weights, placed by shape: names and order are the student's choice
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
    expected = load_goldens(WEEK)["model/expected"]
    values = check_close("output = head(last time step of the LSTM output)", got, expected, rtol=1e-4, atol=1e-5)
    if not values.passed:
        hint = _diagnose_model(got)
        if hint:
            values.message = f"likely cause: {hint}. " + values.message
    result.add(values)

    model.train()
    out, error = run_student("forward pass (train)", model, Tensor(x))
    if error:
        result.add(error)
        return result
    result.add(check_gradients_reach_parameters(model, out))
    model.to(dtype=np.float64)
    model.eval()
    out, error = run_student("forward in float64 (model.to(dtype=np.float64))", model, Tensor(x, dtype=np.float64))
    if error:
        result.add(error)
        return result
    dtype = np.asarray(asnumpy(out)).dtype
    result.add(check_true("a float64 model gives float64 outputs", dtype == np.float64,
                          f"after model.to(dtype=np.float64) the output is {dtype}: do not cast inside forward"))
    return result


def golden_cases(namespace) -> dict[str, np.ndarray]:
    """The cell and window cases through the reference answers in ``namespace`` (for
    ``python -m grader goldens``)."""
    out = cell_goldens(namespace["lstm_cell_forward"])
    out.update(windows_goldens(namespace["make_windows"]))
    out.update(model_goldens(namespace["LSTMModel"]))
    return {k: np.asarray(v) for k, v in out.items()}


__all__ = ["cell_inputs", "fill_by_shape", "golden_cases", "model_inputs", "n_parameters", "shape_values", "test_lstm_cell_forward",
           "test_lstm_forward", "test_make_windows", "wave"]
