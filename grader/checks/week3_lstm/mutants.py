"""Deliberately broken references for week 3: every hidden check must fail at least one,
and every mutant must fail at least one check (tests/test_weeks.py)."""

_CELL = '''
def lstm_cell_forward(x, h, c, weight_ih, weight_hh, bias_ih, bias_hh):
    H = h.shape[1]
    gates = x @ weight_ih.T + {bias} + h @ weight_hh.T  # (N, 4H)
    blocks = [gates[:, k * H:(k + 1) * H] for k in range(4)]
    i, f, g, o = ({order})
    i, f, g, o = i.sigmoid(), f.sigmoid(), {g_act}, o.sigmoid()
    c_next = f * c + i * g
    h_next = {h_next}
    return {ret}
'''


def _cell(order="blocks[0], blocks[1], blocks[2], blocks[3]", bias="bias_ih + bias_hh", g_act="g.tanh()",
          h_next="o * c_next.tanh()", ret="h_next, c_next"):
    return _CELL.format(order=order, bias=bias, g_act=g_act, h_next=h_next, ret=ret)


_WINDOWS = '''
def make_windows(series, seq_len, horizon=1):
    s = np.asarray(series)
    {one_d}
    T = s.shape[0]
    windows = sliding_window_view(s[:{cut}], seq_len, axis=0)  # (N, F, seq_len)
    X = {X}
    y = s[{target}:{end}].copy()
    return X, y
'''


def _windows(one_d="s = s[:, None] if s.ndim == 1 else s", cut="T - horizon", X="np.ascontiguousarray(windows.transpose(0, 2, 1))",
             target="seq_len + horizon - 1", end=""):
    return _WINDOWS.format(one_d=one_d, cut=cut, X=X, target=target, end=end)


_MODEL = '''
class LSTMModel(Module):
    def __init__(self, input_size, hidden_size, num_layers, output_size):
        super().__init__()
        self.lstm = LSTM(input_size, hidden_size, {layers}, batch_first={batch_first})
        self.head = Linear(hidden_size, output_size)

    def forward(self, x):
        out, (h_n, c_n) = self.lstm(x)
        return self.head({features})
'''


def _model(layers="num_layers", batch_first="True", features="out[:, -1, :]"):
    return _MODEL.format(layers=layers, batch_first=batch_first, features=features)


MUTANTS = {
    # Exercise 1
    "cell_order_ifog": {"lstm_cell": _cell(order="blocks[0], blocks[1], blocks[3], blocks[2]")},
    "cell_order_figo": {"lstm_cell": _cell(order="blocks[1], blocks[0], blocks[2], blocks[3]")},
    "cell_no_tanh_on_c": {"lstm_cell": _cell(h_next="o * c_next")},
    "cell_sigmoid_candidate": {"lstm_cell": _cell(g_act="g.sigmoid()")},
    "cell_missing_bias_hh": {"lstm_cell": _cell(bias="bias_ih")},
    "cell_float32_cast": {"lstm_cell": _cell(ret="Tensor(h_next.numpy().astype(np.float32)), Tensor(c_next.numpy().astype(np.float32))")},
    "cell_numpy_detached": {"lstm_cell": _cell(ret="Tensor(h_next.numpy(), dtype=h_next.dtype), c_next")},
    # Exercise 2
    "windows_horizon_ignored": {"make_windows": _windows(target="seq_len", end="T - horizon + 1")},
    "windows_axes_swapped": {"make_windows": _windows(X="np.ascontiguousarray(windows)")},
    "windows_last_missing": {"make_windows": _windows(cut="T - horizon - 1", end="-1")},
    "windows_no_feature_axis": {"make_windows": _windows(one_d="pass")},
    "windows_float32_cast": {"make_windows": _windows(X="np.ascontiguousarray(windows.transpose(0, 2, 1)).astype(np.float32)")},
    "windows_python_loop": {"make_windows": """
def make_windows(series, seq_len, horizon=1):
    s = np.asarray(series)
    s = s[:, None] if s.ndim == 1 else s
    N = s.shape[0] - seq_len - horizon + 1
    X = np.stack([s[n:n + seq_len] for n in range(N)])  # one slice per window: the loop the exercise forbids
    y = s[seq_len + horizon - 1:].copy()
    return X, y
"""},
    "windows_writes_into_series": {"make_windows": _windows(end="") + """
_make_windows = make_windows


def make_windows(series, seq_len, horizon=1):
    X, y = _make_windows(series, seq_len, horizon)
    series[...] = 0  # 'frees' the caller's data
    return X, y
"""},
    # Exercise 3
    "model_first_step": {"lstm_model": _model(features="out[:, 0, :]")},
    "model_mean_over_time": {"lstm_model": _model(features="out.mean(axis=1)")},
    "model_first_layer_state": {"lstm_model": _model(features="h_n[0]")},
    "model_not_batch_first": {"lstm_model": _model(batch_first="False")},
    "model_one_layer_only": {"lstm_model": _model(layers="1")},
    "model_detached": {"lstm_model": _model(features="Tensor(out[:, -1, :].numpy(), dtype=x.dtype)")},
    "model_float32_cast": {"lstm_model": _model(features="out[:, -1, :].to(dtype=np.float32)")},
    # Quiz
    "quiz_all_wrong": {"quiz": 'quiz_answers = {"q1": "a", "q2": "a", "q3": "a", "q4": "a"}'},
}

# Lying modules: the example, a forecaster whose weights are all zero and that
# ignores load_state_dict, so it reports zeros and returns zeros (and zero gradients that
# agree with its zero weights). The old checks rebuilt their reference from the reported
# state and gave it 3/3; the grader's own weights catch it.
LYING = {
    "liar_zero_model": {"lstm_model": _model() + '''

_HonestLSTMModel = LSTMModel


class LSTMModel(_HonestLSTMModel):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for p in self.parameters():
            p.data[...] = 0

    def load_state_dict(self, state_dict, strict=True):
        pass  # keeps its zeros
'''},
}

# Delegation: one LSTM step through the library (its fused layer op, or its LSTMCell
# holding the given tensors as its parameters, so gradients still reach them).
DELEGATING = {
    "delegates_lstm_layer": {"lstm_cell": '''
from utils.nn.recurrent import lstm_layer


def lstm_cell_forward(x, h, c, weight_ih, weight_hh, bias_ih, bias_hh):
    packed = lstm_layer(x.reshape(1, *x.shape), h, c, weight_ih, weight_hh, bias_ih, bias_hh)  # (2, N, H)
    return packed[0], packed[1]
'''},
    "delegates_lstm_cell": {"lstm_cell": '''
def lstm_cell_forward(x, h, c, weight_ih, weight_hh, bias_ih, bias_hh):
    cell = LSTMCell(x.shape[1], h.shape[1]).to(dtype=x.dtype)
    for name, value in (("weight_ih", weight_ih), ("weight_hh", weight_hh), ("bias_ih", bias_ih), ("bias_hh", bias_hh)):
        cell._parameters[name] = value
    return cell(x, (h, c))
'''},
}
MUTANTS.update(LYING)
MUTANTS.update(DELEGATING)
# Mutants that must earn nothing on the cell they replace (tests/test_weeks.py).
ZERO = {"liar_zero_model": "lstm_model_tests", "delegates_lstm_layer": "lstm_cell_tests",
        "delegates_lstm_cell": "lstm_cell_tests"}
