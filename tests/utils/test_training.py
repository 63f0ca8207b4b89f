"""Training loop: a CNN on digits reaches 97%, evaluation/prediction modes, History, NaN errors."""
import numpy as np
import pytest

from utils.data import DataLoader, load_digits, train_test_split
from utils.losses import CrossEntropyLoss, MSELoss
from utils.metrics import accuracy
from utils.nn import Conv2d, Dropout, Flatten, Linear, MaxPool2d, Module, ReLU, Sequential
from utils.optim import SGD, StepLR
from utils.tensor import is_grad_enabled
from utils.training import History, evaluate, fit, predict


@pytest.fixture(scope="module")
def digits():
    X, y = load_digits()
    return train_test_split(X, y, test_size=0.2, seed=0, stratify=True)


def small_cnn():
    np.random.seed(0)  # layers draw their initial weights from NumPy's global generator
    return Sequential(
        Conv2d(1, 16, 3, padding=1), ReLU(), MaxPool2d(2),   # (N, 16, 4, 4)
        Conv2d(16, 32, 3, padding=1), ReLU(), MaxPool2d(2),  # (N, 32, 2, 2)
        Flatten(),                                            # (N, 128)
        Linear(32 * 2 * 2, 10),                               # (N, 10)
    )


def test_small_cnn_reaches_97_percent_on_digits(digits):
    """About 1.5 s; the final epoch scored 97.2-97.8% for every loader seed 0-5 tried."""
    X_tr, X_te, y_tr, y_te = digits
    model = small_cnn()
    optimizer = SGD(model.parameters(), lr=0.05, momentum=0.9)
    train = DataLoader(X_tr, y_tr, batch_size=32, shuffle=True, seed=0)
    test = DataLoader(X_te, y_te, batch_size=256)
    history = fit(model, train, CrossEntropyLoss(), optimizer, epochs=15, val_loader=test, progress=False)
    scores = evaluate(model, test, CrossEntropyLoss())
    assert scores["accuracy"] >= 0.97, f"test accuracy {scores['accuracy']:.3f} after {len(history)} epochs"
    assert scores["n_samples"] == len(y_te)
    assert history.val_metric[-1] == pytest.approx(scores["accuracy"])
    assert history.train_loss[-1] < history.train_loss[0]
    logits = predict(model, X_te)
    assert logits.shape == (len(y_te), 10) and isinstance(logits, np.ndarray)
    assert accuracy(logits, y_te) == pytest.approx(scores["accuracy"])


class Probe(Module):
    """Records the mode and grad state it saw; a Dropout makes train/eval matter."""

    def __init__(self):
        super().__init__()
        self.linear = Linear(4, 3)
        self.drop = Dropout(0.5)
        self.seen = []

    def forward(self, x):
        self.seen.append((self.training, is_grad_enabled()))
        return self.drop(self.linear(x))


def toy_loaders(n=40):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, 4)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.int64) + (X[:, 1] > 0)
    return DataLoader(X, y, batch_size=8, shuffle=True), DataLoader(X, y, batch_size=16), X


def test_fit_switches_train_and_eval_and_records_history():
    train, val, X = toy_loaders()
    model = Probe()
    optimizer = SGD(model.parameters(), lr=0.1)
    scheduler = StepLR(optimizer, step_size=1, gamma=0.5)
    history = fit(model, train, CrossEntropyLoss(), optimizer, epochs=3, val_loader=val, scheduler=scheduler, progress=False)
    # 5 training batches with a graph, then 3 validation batches in eval mode without one, per epoch
    assert model.seen == ([(True, True)] * 5 + [(False, False)] * 3) * 3
    assert len(history) == 3 and history.lr == [0.1, 0.05, 0.025]
    assert all(len(v) == 3 for v in history.as_dict().values())
    assert history.metric_name == "accuracy" and all(0 <= m <= 1 for m in history.val_metric)
    best = history.best()
    assert best["val_metric"] == max(history.val_metric) and 1 <= best["epoch"] <= 3
    assert history.best("train_loss")["train_loss"] == min(history.train_loss)
    assert model.training  # evaluate restored training mode


def test_evaluate_and_predict_run_in_eval_mode_without_graph():
    _, val, X = toy_loaders()
    model = Probe()
    first = predict(model, X, batch_size=16)
    assert first.shape == (40, 3)
    np.testing.assert_array_equal(first, predict(model, X, batch_size=7))  # dropout off: deterministic
    assert all(seen == (False, False) for seen in model.seen) and model.training
    scores = evaluate(model, val, metric=None)
    assert scores == {"n_samples": 40}


def test_fit_without_validation_and_with_regression_metric():
    rng = np.random.default_rng(1)
    X = rng.standard_normal((64, 3)).astype(np.float32)
    y = X @ np.array([[1.0], [-2.0], [0.5]], dtype=np.float32)  # (64, 1)
    np.random.seed(0)
    model = Linear(3, 1)
    from utils.metrics import mse

    history = fit(model, DataLoader(X, y, batch_size=16, shuffle=True), MSELoss(),
                  SGD(model.parameters(), lr=0.1), epochs=20, metric=mse, progress=False)
    assert history.val_loss == [None] * 20 and history.metric_name == "mse"
    assert history.train_loss[-1] < 1e-2 and history.best()["epoch"] == int(np.argmin(history.train_loss)) + 1


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning")
def test_fit_stops_on_nan_loss_naming_epoch_and_batch():
    X = np.ones((32, 2), dtype=np.float32)
    y = np.full((32, 1), 1e30, dtype=np.float32)  # squared error overflows float32 to inf
    model = Linear(2, 1)
    with pytest.raises(FloatingPointError, match=r"epoch 1, batch 1 of 4.*[Ll]ower the learning rate"):
        fit(model, DataLoader(X, y, batch_size=8), MSELoss(), SGD(model.parameters(), lr=0.1),
            epochs=2, metric=None, progress=False)


def test_fit_progress_bar_reports_on_stderr(capsys):
    train, val, _ = toy_loaders()
    model = Probe()
    fit(model, train, CrossEntropyLoss(), SGD(model.parameters(), lr=0.1), epochs=2, val_loader=val, desc="probe")
    err = capsys.readouterr().err
    assert "probe" in err and "10/10" in err and "val_accuracy" in err
    fit(model, train, CrossEntropyLoss(), SGD(model.parameters(), lr=0.1), epochs=1, progress=False)
    assert capsys.readouterr().err == ""


def test_history_best_on_empty_history_is_a_clear_error():
    with pytest.raises(ValueError, match="empty"):
        History().best()
