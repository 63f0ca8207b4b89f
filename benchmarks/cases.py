"""The benchmark cases: one computation, built once in ``utils`` and once in PyTorch.

A case is three functions of a dict of NumPy float32 arrays that ``arrays(scale)``
draws from a fixed seed (so two processes build identical inputs and weights):

    utils_side(arrays) -> (step, result)
    torch_side(arrays) -> (step, result)

``step()`` runs the timed work: forward plus backward with every gradient (input and
parameters), or one training epoch. ``result()`` returns the gradients (or, for the
epoch, the trained parameters) as NumPy arrays in the same order on both sides, so a
test can check that the two sides really compute the same thing. ``scale`` shrinks
the batch (or the training set) for quick runs; 1.0 is the size named in the case.

torch is imported only inside the torch side builders.
"""
from __future__ import annotations

import functools
import math

import numpy as np

from .case import Case
from .course_cases import COURSE_CASES

SEED = 0



def _scaled(n: int, scale: float, least: int = 2) -> int:
    return max(least, int(round(n * scale)))


def _normal(rng, *shape):
    return rng.standard_normal(shape, dtype=np.float32)


def _uniform(rng, bound: float, *shape):
    return rng.uniform(-bound, bound, shape).astype(np.float32)


# ---------------------------------------------------------------------------- helpers
def _load_utils(module, params: dict) -> None:
    """Copy ``params`` (dotted name -> array) into a utils module's parameters."""
    for name, p in module.named_parameters():
        p.data[...] = p.xp.asarray(params[name])


def _torch_device():
    """Where the torch side runs: ``$BENCH_DEVICE`` (set by the worker), the CPU by default."""
    import os

    import torch

    return torch.device(os.environ.get("BENCH_DEVICE", "cpu"))


def _load_torch(module, params: dict) -> None:
    import torch

    module.to(_torch_device())
    with torch.no_grad():
        for name, p in module.named_parameters():
            p.copy_(torch.from_numpy(params[name]))


def _utils_grad_step(module, x, grad, call):
    """(step, result) for ``call(module, x).backward(grad)`` with every gradient kept."""
    from utils import Tensor, asnumpy
    from utils.backend import default_device

    x = Tensor(x, requires_grad=True, device=default_device())

    def step():
        x.grad = None
        module.zero_grad()
        call(module, x).backward(grad)

    def result():
        return [asnumpy(x.grad)] + [asnumpy(p.grad) for _, p in module.named_parameters()]

    return step, result


def _torch_grad_step(module, x, grad, call):
    import torch

    x = torch.from_numpy(x.copy()).to(_torch_device()).requires_grad_()
    grad = torch.from_numpy(grad).to(_torch_device())

    def step():
        x.grad = None
        module.zero_grad(set_to_none=True)
        call(module, x).backward(grad)

    def result():
        return [x.grad.cpu().numpy()] + [p.grad.cpu().numpy() for _, p in module.named_parameters()]

    return step, result


# ---------------------------------------------------------------------------- conv2d
def _conv_case(n: int, c: int, o: int, hw: int) -> Case:
    def arrays(scale):
        rng = np.random.default_rng(SEED)
        b = _scaled(n, scale)
        bound = 1.0 / math.sqrt(c * 9)
        params = {"weight": _uniform(rng, bound, o, c, 3, 3), "bias": _uniform(rng, bound, o)}
        return {"x": _normal(rng, b, c, hw, hw), "grad": _normal(rng, b, o, hw, hw), "params": params}

    def utils_side(a):
        from utils import nn

        layer = nn.Conv2d(c, o, 3, padding=1)
        _load_utils(layer, a["params"])
        return _utils_grad_step(layer, a["x"], a["grad"], lambda m, x: m(x))

    def torch_side(a):
        import torch

        layer = torch.nn.Conv2d(c, o, 3, padding=1)
        _load_torch(layer, a["params"])
        return _torch_grad_step(layer, a["x"], a["grad"], lambda m, x: m(x))

    return Case(f"conv2d b{n} {c}->{o} {hw}x{hw} k3 p1", arrays, utils_side, torch_side)


# ---------------------------------------------------------------------------- max-pool
def _maxpool_case(n: int, c: int, hw: int) -> Case:
    def arrays(scale):
        rng = np.random.default_rng(SEED)
        b = _scaled(n, scale)
        return {"x": _normal(rng, b, c, hw, hw), "grad": _normal(rng, b, c, hw // 2, hw // 2), "params": {}}

    def utils_side(a):
        from utils import nn

        return _utils_grad_step(nn.MaxPool2d(2), a["x"], a["grad"], lambda m, x: m(x))

    def torch_side(a):
        import torch

        return _torch_grad_step(torch.nn.MaxPool2d(2), a["x"], a["grad"], lambda m, x: m(x))

    return Case(f"max-pool 2x2 ({n}, {c}, {hw}, {hw})", arrays, utils_side, torch_side)


# ---------------------------------------------------------------------------- LSTM
def _lstm_case(n: int, t: int, i: int, h: int) -> Case:
    def arrays(scale):
        rng = np.random.default_rng(SEED)
        b = _scaled(n, scale)
        bound = 1.0 / math.sqrt(h)
        params = {"weight_ih_l0": _uniform(rng, bound, 4 * h, i), "weight_hh_l0": _uniform(rng, bound, 4 * h, h),
                  "bias_ih_l0": _uniform(rng, bound, 4 * h), "bias_hh_l0": _uniform(rng, bound, 4 * h)}
        return {"x": _normal(rng, b, t, i), "grad": _normal(rng, b, t, h), "params": params}

    def utils_side(a):
        from utils import nn

        lstm = nn.LSTM(i, h, batch_first=True)
        _load_utils(lstm, a["params"])
        return _utils_grad_step(lstm, a["x"], a["grad"], lambda m, x: m(x)[0])

    def torch_side(a):
        import torch

        lstm = torch.nn.LSTM(i, h, batch_first=True)
        _load_torch(lstm, a["params"])
        return _torch_grad_step(lstm, a["x"], a["grad"], lambda m, x: m(x)[0])

    return Case(f"LSTM b{n} T{t} in{i} H{h}", arrays, utils_side, torch_side)


# ---------------------------------------------------------------------------- GRU and vanilla RNN
def _gated_case(kind: str, n: int, t: int, i: int, h: int) -> Case:
    """``kind`` is ``"GRU"`` (3 gates, r, z, n) or ``"RNN"`` (tanh): same layouts and names as torch."""
    gates = {"GRU": 3, "RNN": 1}[kind]

    def arrays(scale):
        rng = np.random.default_rng(SEED)
        b = _scaled(n, scale)
        bound = 1.0 / math.sqrt(h)
        params = {"weight_ih_l0": _uniform(rng, bound, gates * h, i), "weight_hh_l0": _uniform(rng, bound, gates * h, h),
                  "bias_ih_l0": _uniform(rng, bound, gates * h), "bias_hh_l0": _uniform(rng, bound, gates * h)}
        return {"x": _normal(rng, b, t, i), "grad": _normal(rng, b, t, h), "params": params}

    def utils_side(a):
        from utils import nn

        layer = getattr(nn, kind)(i, h, batch_first=True)
        _load_utils(layer, a["params"])
        return _utils_grad_step(layer, a["x"], a["grad"], lambda m, x: m(x)[0])

    def torch_side(a):
        import torch

        layer = getattr(torch.nn, kind)(i, h, batch_first=True)
        _load_torch(layer, a["params"])
        return _torch_grad_step(layer, a["x"], a["grad"], lambda m, x: m(x)[0])

    return Case(f"{kind} b{n} T{t} in{i} H{h}", arrays, utils_side, torch_side)


# ---------------------------------------------------------------------------- attention
def _mha_case(n: int, s: int, d: int, heads: int) -> Case:
    """Self-attention with ``need_weights=False`` on both sides (what a transformer layer calls)."""

    def arrays(scale):
        rng = np.random.default_rng(SEED)
        b = _scaled(n, scale)
        bound = 1.0 / math.sqrt(d)
        params = {f"{k}_proj.{p}": _uniform(rng, bound, *((d, d) if p == "weight" else (d,)))
                  for k in ("q", "k", "v", "out") for p in ("weight", "bias")}
        return {"x": _normal(rng, b, s, d), "grad": _normal(rng, b, s, d), "params": params}

    def utils_side(a):
        from utils import nn

        mha = nn.MultiHeadAttention(d, heads, batch_first=True)
        _load_utils(mha, a["params"])
        step, grads = _utils_grad_step(mha, a["x"], a["grad"], lambda m, x: m(x, x, x, need_weights=False)[0])

        def result():  # x, then PyTorch's packed in-projection, then out_proj
            g = dict(zip(["x"] + [k for k, _ in mha.named_parameters()], grads()))
            packed = [np.concatenate([g[f"{k}_proj.{p}"] for k in "qkv"]) for p in ("weight", "bias")]
            return [g["x"], *packed, g["out_proj.weight"], g["out_proj.bias"]]

        return step, result

    def torch_side(a):
        import torch

        mha = torch.nn.MultiheadAttention(d, heads, batch_first=True)
        p = a["params"]
        packed = {"in_proj_weight": np.concatenate([p[f"{k}_proj.weight"] for k in "qkv"]),
                  "in_proj_bias": np.concatenate([p[f"{k}_proj.bias"] for k in "qkv"]),
                  "out_proj.weight": p["out_proj.weight"], "out_proj.bias": p["out_proj.bias"]}
        _load_torch(mha, packed)
        step, grads = _torch_grad_step(mha, a["x"], a["grad"], lambda m, x: m(x, x, x, need_weights=False)[0])

        def result():
            g = dict(zip(["x"] + [k for k, _ in mha.named_parameters()], grads()))
            return [g[k] for k in ("x", "in_proj_weight", "in_proj_bias", "out_proj.weight", "out_proj.bias")]

        return step, result

    return Case(f"MHA self-attn b{n} S{s} d{d} h{heads}", arrays, utils_side, torch_side)


# ---------------------------------------------------------------------------- digits CNN epoch
BATCH, LR, MOMENTUM = 32, 0.05, 0.9


@functools.lru_cache(maxsize=1)
def _digits_train():
    """The 1437 training images of the digits: ``load_digits()`` with a stratified 80/20 split."""
    from utils.data import load_digits, train_test_split

    X, y = load_digits()
    X_train, _, y_train, _ = train_test_split(X, y, test_size=0.2, seed=SEED, stratify=True)
    return X_train, y_train


def _digits_arrays(scale):
    X_train, y_train = _digits_train()
    m = _scaled(len(X_train), scale, least=BATCH)
    rng = np.random.default_rng(SEED)
    params = {}
    for name, shape, fan_in in (("0", (16, 1, 3, 3), 9), ("3", (32, 16, 3, 3), 144), ("7", (10, 128), 128)):
        bound = 1.0 / math.sqrt(fan_in)
        params[f"{name}.weight"] = _uniform(rng, bound, *shape)
        params[f"{name}.bias"] = _uniform(rng, bound, shape[0])
    return {"X": np.ascontiguousarray(X_train[:m]), "y": y_train[:m], "params": params}


def _epoch_order(epoch: int, n: int) -> np.ndarray:
    """The sample order of ``epoch``: the one ``utils.data.DataLoader(shuffle=True, seed=SEED)`` uses."""
    return np.random.default_rng([SEED, epoch]).permutation(n)


def _digits_utils(a):
    import utils
    from utils import nn

    model = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(128, 10))
    _load_utils(model, a["params"])
    opt = utils.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    loader = utils.DataLoader(a["X"], a["y"], batch_size=BATCH, shuffle=True, seed=SEED)

    def step():
        for xb, yb in loader:
            loss = utils.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()

    def result():
        return [utils.asnumpy(p.data) for _, p in model.named_parameters()]

    return step, result


def _digits_torch(a):
    import torch
    from torch import nn

    model = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(128, 10))
    _load_torch(model, a["params"])
    opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    X, y = torch.from_numpy(a["X"]).to(_torch_device()), torch.from_numpy(a["y"]).to(_torch_device())
    epoch = [0]

    def step():
        order = torch.from_numpy(_epoch_order(epoch[0], len(X))).to(_torch_device())
        epoch[0] += 1
        for start in range(0, len(X), BATCH):
            idx = order[start:start + BATCH]
            loss = nn.functional.cross_entropy(model(X[idx]), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()

    def result():
        return [p.detach().cpu().numpy() for _, p in model.named_parameters()]

    return step, result


CASES = [
    _conv_case(64, 3, 32, 32),
    _conv_case(64, 32, 64, 16),
    _maxpool_case(64, 32, 32),
    _lstm_case(64, 50, 8, 64),
    _gated_case("GRU", 64, 50, 8, 64),
    _gated_case("RNN", 64, 50, 8, 64),
    _mha_case(32, 64, 128, 4),
    Case("digits CNN, one epoch (1437 images, b32, SGD)", _digits_arrays, _digits_utils, _digits_torch),
    *COURSE_CASES,
]
