"""Week 3 visible checks pass on the reference answers and name the mistake on broken ones."""
import numpy as np
import pytest
from numpy.lib.stride_tricks import sliding_window_view

from utils import Tensor
from utils.checks.week3_lstm import test_lstm_cell_forward as check_cell
from utils.checks.week3_lstm import test_lstm_forward as check_model
from utils.checks.week3_lstm import test_make_windows as check_windows
from utils.nn import LSTM, Linear, Module


def cell(x, h, c, w_ih, w_hh, b_ih, b_hh, order=(0, 1, 2, 3), tanh_c=True, swap=False):
    H = h.shape[1]
    gates = x @ w_ih.T + b_ih + h @ w_hh.T + b_hh  # (N, 4H)
    blocks = [gates[:, k * H:(k + 1) * H] for k in order]
    i, f, g, o = blocks[0].sigmoid(), blocks[1].sigmoid(), blocks[2].tanh(), blocks[3].sigmoid()
    c_next = f * c + i * g
    h_next = o * (c_next.tanh() if tanh_c else c_next)
    return (c_next, h_next) if swap else (h_next, c_next)


def windows(series, seq_len, horizon=1, transpose=True, ignore_horizon=False):
    s = np.asarray(series)
    s = s[:, None] if s.ndim == 1 else s
    T = len(s)
    N = T - seq_len - horizon + 1
    w = sliding_window_view(s[:T - horizon], seq_len, axis=0)  # (N, F, seq_len)
    X = w.transpose(0, 2, 1) if transpose else w
    y = s[seq_len:seq_len + N] if ignore_horizon else s[seq_len + horizon - 1:]
    return X, y


def model_class(batch_first=True, reduce="last"):
    class LSTMModel(Module):
        def __init__(self, input_size, hidden_size, num_layers, output_size):
            super().__init__()
            self.lstm = LSTM(input_size, hidden_size, num_layers, batch_first=batch_first)
            self.head = Linear(hidden_size, output_size)

        def forward(self, x):
            out, (h_n, _) = self.lstm(x)
            feats = {"last": out[:, -1, :], "first": out[:, 0, :], "h0": h_n[0],
                     "detached": Tensor(out[:, -1, :].numpy())}[reduce]
            return self.head(feats)

    return LSTMModel


def failed_text(result):
    assert not result.passed
    return " ".join(item.message for item in result.failed_items)


def test_reference_answers_pass():
    for result in (check_cell(cell), check_windows(windows), check_model(model_class())):
        assert result.passed, result.to_text()


@pytest.mark.parametrize("order, name", [((0, 1, 3, 2), "(i, f, o, g)"), ((1, 0, 2, 3), "(f, i, g, o)")])
def test_cell_names_a_wrong_gate_order(order, name):
    text = failed_text(check_cell(lambda *a: cell(*a, order=order)))
    assert "gate blocks were read in the order" in text and name in text


def test_cell_names_other_mistakes():
    assert "missing the tanh" in failed_text(check_cell(lambda *a: cell(*a, tanh_c=False)))
    assert "swapped" in failed_text(check_cell(lambda *a: cell(*a, swap=True)))


def test_cell_stub_says_not_implemented():
    def lstm_cell_forward(*args):
        raise NotImplementedError()
    assert "not implemented yet" in failed_text(check_cell(lstm_cell_forward))


def test_windows_names_mistakes():
    assert "(N, features, seq_len)" in failed_text(check_windows(lambda s, L, h=1: windows(s, L, h, transpose=False)))
    assert "ignores the horizon" in failed_text(check_windows(lambda s, L, h=1: windows(s, L, h, ignore_horizon=True)))


@pytest.mark.parametrize("kwargs, phrase", [({"batch_first": False}, "batch_first=True"), ({"reduce": "first"}, "first time step"),
                                            ({"reduce": "h0"}, "FIRST layer"), ({"reduce": "detached"}, "no gradient reached")])
def test_model_names_mistakes(kwargs, phrase):
    assert phrase in failed_text(check_model(model_class(**kwargs)))



def cell_mistake(kind):
    """``lstm_cell_forward`` with one typical mistake (``kind``)."""
    def fn(x, h, c, w_ih, w_hh, b_ih, b_hh):
        H = h.shape[1]
        state = c if kind == "c_for_h" else h
        gates = x @ w_ih.T + b_ih + state @ w_hh.T + b_hh  # (N, 4H)
        i, f, g, o = (gates[:, k * H:(k + 1) * H] for k in range(4))
        i, f, g, o = i.sigmoid(), (f.tanh() if kind == "tanh_forget" else f.sigmoid()), g.tanh(), o.sigmoid()
        c_next = {"no_carry": i * g, "no_input_gate": f * c + g}.get(kind, f * c + i * g)
        h_next = o * c_next.tanh()
        if kind == "numpy":
            return Tensor(h_next.numpy()), Tensor(c_next.numpy())
        return h_next, c_next
    return fn


@pytest.mark.parametrize("kind, words", [
    ("tanh_forget", "forget gate went through tanh"), ("no_carry", "old cell state is not carried over"),
    ("no_input_gate", "without the input gate"), ("c_for_h", "cell state c was used where the hidden state h belongs"),
    ("numpy", "no gradient reaches x: the result does not require grad; was the result computed outside Tensor operations"),
])
def test_cell_mistakes_are_named(kind, words):
    assert words in failed_text(check_cell(cell_mistake(kind)))


def test_windows_one_too_many_and_reshape_are_named():
    def too_many(series, seq_len, horizon=1):
        s = np.asarray(series)
        s = s[:, None] if s.ndim == 1 else s
        return sliding_window_view(s, seq_len, axis=0).transpose(0, 2, 1), s[seq_len + horizon - 1:]

    def reshaped(series, seq_len, horizon=1):
        X, y = windows(series, seq_len, horizon, transpose=False)
        return X.reshape(X.shape[0], seq_len, -1), y

    assert "one window too many" in failed_text(check_windows(too_many))
    assert "reshaped from (N, features, seq_len)" in failed_text(check_windows(reshaped))


def test_windows_must_keep_float64():
    def float32(series, seq_len, horizon=1):
        X, y = windows(series, seq_len, horizon)
        return X.astype(np.float32), y.astype(np.float32)

    assert "float64 series gave X and y of dtype" in failed_text(check_windows(float32))


def test_windows_loop_and_changed_series_are_named():
    def looped(series, seq_len, horizon=1):
        s = np.asarray(series)
        s = s[:, None] if s.ndim == 1 else s
        N = s.shape[0] - seq_len - horizon + 1
        X = np.stack([s[n:n + seq_len] for n in range(N)])
        return X, s[seq_len + horizon - 1:].copy()

    def clears(series, seq_len, horizon=1):
        X, y = windows(series, seq_len, horizon)
        X, y = X.copy(), y.copy()
        series[...] = 0
        return X, y

    assert "a loop over the windows" in failed_text(check_windows(looped))
    assert "the series passed in was modified" in failed_text(check_windows(clears))
