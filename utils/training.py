"""A training loop with a progress bar, evaluation, prediction and a per-epoch history.

``fit`` works with any ``Module`` whose forward maps a batch ``xb`` to outputs that
``loss_fn(outputs, yb)`` and ``metric(outputs, yb)`` accept (for classification:
logits (B, K) and integer targets (B,)).
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np

from .backend import asnumpy
from .metrics import accuracy
from .tensor import no_grad


@dataclass
class History:
    """What happened in each epoch of ``fit`` (one list entry per epoch).

    ``val_loss``/``val_metric`` hold None for epochs without validation; ``lr`` is the
    learning rate used during the epoch; ``seconds`` its wall time, validation included.
    """

    train_loss: list = field(default_factory=list)
    train_metric: list = field(default_factory=list)
    val_loss: list = field(default_factory=list)
    val_metric: list = field(default_factory=list)
    lr: list = field(default_factory=list)
    seconds: list = field(default_factory=list)
    metric_name: str = "metric"

    KEYS = ("train_loss", "train_metric", "val_loss", "val_metric", "lr", "seconds")

    def __len__(self) -> int:
        return len(self.train_loss)

    def as_dict(self) -> dict:
        """The per-epoch lists by name (copies)."""
        return {key: list(getattr(self, key)) for key in self.KEYS}

    def best(self, key: str | None = None) -> dict:
        """The epoch with the best ``key`` and every value recorded in it.

        ``key`` defaults to ``val_metric`` when validation ran, else ``train_loss``.
        Losses (and ``seconds``) are minimised, metrics maximised; note that a metric
        where lower is better (such as ``mse``) should be read from the loss instead.

        Returns:
            ``{"epoch": e (1-based), "train_loss": ..., "val_metric": ..., ...}``.
        """
        if not len(self):
            raise ValueError("the history is empty: train for at least one epoch first")
        if key is None:
            key = "val_metric" if any(v is not None for v in self.val_metric) else "train_loss"
        if key not in self.KEYS:
            raise KeyError(f"unknown history key {key!r}; expected one of {self.KEYS}")
        values = np.array([np.nan if v is None else v for v in getattr(self, key)], dtype=np.float64)
        if np.all(np.isnan(values)):
            raise ValueError(f"no values recorded for {key!r}")
        index = int(np.nanargmax(values) if key.endswith("metric") else np.nanargmin(values))
        return {"epoch": index + 1, **{k: getattr(self, k)[index] for k in self.KEYS}}

    def plot(self):
        """Loss and metric curves, train against validation (see ``plots.plot_history``)."""
        from .plots import plot_history

        return plot_history(self)

    def __repr__(self) -> str:
        if not len(self):
            return "History(no epochs)"
        last = {k: getattr(self, k)[-1] for k in ("train_loss", "train_metric", "val_loss", "val_metric")}
        shown = ", ".join(f"{k}={v:.4g}" for k, v in last.items() if v is not None)
        return f"History({len(self)} epochs, last: {shown})"


def _metric_name(metric) -> str:
    return getattr(metric, "__name__", type(metric).__name__) if metric is not None else "metric"


def _batch_size(xb) -> int:
    return int(xb.shape[0])


def evaluate(model, loader, loss_fn=None, metric=accuracy) -> dict:
    """Average loss and metric over a loader, in eval mode and without a graph.

    Args:
        model: a Module mapping ``xb`` to outputs.
        loader: iterable of ``(xb, yb)`` (e.g. a ``DataLoader``).
        loss_fn: ``loss_fn(outputs, yb)`` -> scalar Tensor, or None.
        metric: ``metric(outputs, yb)`` -> float, or None.

    Returns:
        ``{"loss": ..., <metric name>: ..., "n_samples": N}`` with sample-weighted means
        (``"loss"`` only with a ``loss_fn``, the metric only with a ``metric``).
    """
    was_training = model.training
    model.eval()
    loss_sum = metric_sum = 0.0
    n = 0
    try:
        with no_grad():
            for xb, yb in loader:
                out = model(xb)
                b = _batch_size(xb)
                if loss_fn is not None:
                    loss_sum += float(loss_fn(out, yb).item()) * b
                if metric is not None:
                    metric_sum += float(metric(out, yb)) * b
                n += b
    finally:
        model.train(was_training)
    if n == 0:
        raise ValueError("evaluate: the loader yielded no batches")
    result = {}
    if loss_fn is not None:
        result["loss"] = loss_sum / n
    if metric is not None:
        result[_metric_name(metric)] = metric_sum / n
    result["n_samples"] = n
    return result


def predict(model, X, batch_size: int = 256) -> np.ndarray:
    """The model's outputs for every sample of ``X``, in eval mode and without a graph.

    Args:
        X: (N, ...) array or Tensor of inputs.

    Returns:
        (N, ...) NumPy array, the outputs of the batches concatenated in order.
    """
    from .data import DataLoader

    was_training = model.training
    model.eval()
    outputs = []
    try:
        with no_grad():
            for xb, _ in DataLoader(X, batch_size=batch_size):
                outputs.append(asnumpy(model(xb)))
    finally:
        model.train(was_training)
    return np.concatenate(outputs, axis=0)


def _current_lr(optimizer) -> float:
    groups = getattr(optimizer, "param_groups", None)
    return float(groups[0]["lr"]) if groups else float("nan")


def fit(model, train_loader, loss_fn, optimizer, epochs: int, val_loader=None, scheduler=None,
        metric=accuracy, progress: bool = True, desc: str = "train") -> History:
    """Train ``model`` for ``epochs`` passes over ``train_loader``.

    Each batch: forward in train mode, ``loss_fn(outputs, yb)``, ``optimizer.zero_grad()``,
    ``backward()``, ``optimizer.step()``. After each epoch: ``evaluate`` on ``val_loader``
    (eval mode, no graph) and ``scheduler.step()``.

    Args:
        model: a Module mapping ``xb`` to outputs (logits for classification).
        train_loader, val_loader: iterables of ``(xb, yb)``; ``val_loader`` may be None.
        loss_fn: ``loss_fn(outputs, yb)`` -> scalar Tensor.
        optimizer: has ``zero_grad()``, ``step()`` and ``param_groups``.
        scheduler: stepped once per epoch, or None.
        metric: ``metric(outputs, yb)`` -> float (``accuracy`` by default), or None.
        progress: show one progress bar over all batches of all epochs.
        desc: the bar's label.

    Returns:
        a ``History`` with one entry per epoch.

    Raises:
        FloatingPointError: when the loss becomes NaN or infinite (names the epoch and batch).
    """
    from tqdm.auto import tqdm

    if int(epochs) != epochs or epochs < 1:
        raise ValueError(f"epochs must be a positive integer, got {epochs!r}")
    name = _metric_name(metric)
    history = History(metric_name=name)
    try:
        per_epoch = len(train_loader)
    except TypeError:
        per_epoch = None
    bar = tqdm(total=None if per_epoch is None else per_epoch * epochs, desc=desc, unit="batch",
               disable=not progress, dynamic_ncols=True)
    postfix = {}
    try:
        for epoch in range(1, epochs + 1):
            start = time.perf_counter()
            lr = _current_lr(optimizer)
            model.train()
            loss_sum = metric_sum = 0.0
            n = 0
            for batch, (xb, yb) in enumerate(train_loader, start=1):
                out = model(xb)
                loss = loss_fn(out, yb)
                value = float(loss.item())
                if not math.isfinite(value):
                    raise FloatingPointError(
                        f"the loss became {value} at epoch {epoch}, batch {batch}"
                        + (f" of {per_epoch}" if per_epoch else "")
                        + f": training diverged. Lower the learning rate (it is {lr:g}) and train again "
                        "from a freshly initialised model.")
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                b = _batch_size(xb)
                n += b
                loss_sum += value * b
                if metric is not None:
                    metric_sum += float(metric(out.detach(), yb)) * b
                postfix["epoch"] = f"{epoch}/{epochs}"
                postfix["loss"] = f"{loss_sum / n:.4f}"
                if metric is not None:
                    postfix[name] = f"{metric_sum / n:.4f}"
                bar.set_postfix(postfix, refresh=False)
                bar.update(1)
            if n == 0:
                raise ValueError("fit: the training loader yielded no batches")
            history.train_loss.append(loss_sum / n)
            history.train_metric.append(metric_sum / n if metric is not None else None)
            if val_loader is not None:
                scores = evaluate(model, val_loader, loss_fn, metric)
                history.val_loss.append(scores["loss"])
                history.val_metric.append(scores.get(name))
                postfix[f"val_{name}" if metric is not None else "val_loss"] = (
                    f"{scores[name]:.4f}" if metric is not None else f"{scores['loss']:.4f}")
            else:
                history.val_loss.append(None)
                history.val_metric.append(None)
            if scheduler is not None:
                scheduler.step()
            history.lr.append(lr)
            history.seconds.append(time.perf_counter() - start)
            bar.set_postfix(postfix)
    finally:
        bar.close()
    return history
