"""Optimizers (``SGD``, ``Adam``), learning-rate schedulers and gradient clipping.

The update rules are PyTorch's, written out on raw arrays. An optimizer keeps
``param_groups`` (a list of dicts holding ``"params"`` and hyper-parameters such as
``"lr"``, which schedulers change) and ``state`` (a dict from parameter to its
buffers, filled in the order the parameters were given).
"""
from __future__ import annotations

import math

from .tensor import Tensor


class Optimizer:
    """Base class: holds parameter groups and per-parameter state.

    Args:
        params: an iterable of Parameters, or of dicts ``{"params": [...], "lr": ...}``
            (parameter groups with their own hyper-parameters).
        defaults: hyper-parameters used where a group does not set them.
    """

    def __init__(self, params, defaults: dict):
        if isinstance(params, Tensor):
            raise TypeError(f"{type(self).__name__}: params must be an iterable of tensors (e.g. model.parameters()), got a single Tensor")
        params = list(params)
        if not params:
            raise ValueError(f"{type(self).__name__} got an empty parameter list")
        groups = params if isinstance(params[0], dict) else [{"params": params}]
        self.defaults = dict(defaults)
        self.param_groups = []
        self.state = {}
        seen = set()
        for group in groups:
            group = dict(group)
            group["params"] = list(group["params"])
            for p in group["params"]:
                if not isinstance(p, Tensor):
                    raise TypeError(f"{type(self).__name__}: expected Tensors/Parameters, got {type(p).__name__}")
                if id(p) in seen:
                    raise ValueError(f"{type(self).__name__}: a parameter of shape {p.shape} appears more than once")
                seen.add(id(p))
            for key, value in self.defaults.items():
                group.setdefault(key, value)
            self.param_groups.append(group)

    def zero_grad(self) -> None:
        """Clear the gradient of every parameter (set it to None)."""
        for group in self.param_groups:
            for p in group["params"]:
                p.grad = None

    def step(self) -> None:
        """Update every parameter that has a gradient (implemented by each optimizer)."""
        raise NotImplementedError


class SGD(Optimizer):
    """Stochastic gradient descent with optional momentum (PyTorch's rule).

    For each parameter p with gradient g::

        g = g + weight_decay * p
        buf = g                                      (first step)
        buf = momentum * buf + (1 - dampening) * g   (later steps)
        g = g + momentum * buf  if nesterov  else  buf
        p = p - lr * g

    Args:
        params: iterable of Parameters (or parameter-group dicts).
        lr: learning rate (default 1e-3, as PyTorch).
        momentum: momentum factor (default 0).
        dampening: dampening of the momentum (default 0).
        weight_decay: L2 penalty (default 0).
        nesterov: use Nesterov momentum (needs momentum > 0 and dampening 0).
    """

    def __init__(self, params, lr: float = 1e-3, momentum: float = 0.0, dampening: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False):
        if lr < 0.0:
            raise ValueError(f"SGD: invalid learning rate {lr}")
        if momentum < 0.0:
            raise ValueError(f"SGD: invalid momentum {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"SGD: invalid weight_decay {weight_decay}")
        if nesterov and (momentum <= 0.0 or dampening != 0.0):
            raise ValueError("SGD: nesterov momentum needs momentum > 0 and dampening = 0")
        super().__init__(params, dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay, nesterov=nesterov))

    def step(self) -> None:
        """Update every parameter that has a gradient."""
        for group in self.param_groups:
            lr, momentum, dampening = group["lr"], group["momentum"], group["dampening"]
            weight_decay, nesterov = group["weight_decay"], group["nesterov"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                g = p.grad
                if weight_decay != 0.0:
                    g = g + weight_decay * p.data
                if momentum != 0.0:
                    state = self.state.setdefault(p, {})
                    if "momentum_buffer" not in state:
                        buf = g.copy()
                    else:
                        buf = momentum * state["momentum_buffer"] + (1.0 - dampening) * g
                    state["momentum_buffer"] = buf
                    g = g + momentum * buf if nesterov else buf
                p.data -= (lr * g).astype(p.dtype, copy=False)


class Adam(Optimizer):
    """Adam (PyTorch's rule; L2 weight decay added to the gradient, not AdamW).

    For each parameter p with gradient g, at step t = 1, 2, ...::

        g = g + weight_decay * p
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        p = p - lr / (1 - beta1**t) * m / (sqrt(v) / sqrt(1 - beta2**t) + eps)

    Args:
        params: iterable of Parameters (or parameter-group dicts).
        lr: learning rate (default 1e-3).
        betas: (beta1, beta2), default (0.9, 0.999).
        eps: added to the denominator (default 1e-8).
        weight_decay: L2 penalty (default 0).
    State per parameter: ``step`` (int), ``exp_avg`` (m), ``exp_avg_sq`` (v), both shaped like p.
    """

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8, weight_decay: float = 0.0):
        if lr < 0.0:
            raise ValueError(f"Adam: invalid learning rate {lr}")
        if not (0.0 <= betas[0] < 1.0 and 0.0 <= betas[1] < 1.0):
            raise ValueError(f"Adam: betas must be in [0, 1), got {betas}")
        if eps < 0.0:
            raise ValueError(f"Adam: invalid eps {eps}")
        super().__init__(params, dict(lr=lr, betas=tuple(betas), eps=eps, weight_decay=weight_decay))

    def step(self) -> None:
        """Update every parameter that has a gradient."""
        for group in self.param_groups:
            lr, (beta1, beta2), eps, weight_decay = group["lr"], group["betas"], group["eps"], group["weight_decay"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                xp = p.xp
                g = p.grad
                if weight_decay != 0.0:
                    g = g + weight_decay * p.data
                state = self.state.setdefault(p, {})
                if not state:
                    state["step"] = 0
                    state["exp_avg"] = xp.zeros_like(p.data)
                    state["exp_avg_sq"] = xp.zeros_like(p.data)
                state["step"] += 1
                t = state["step"]
                m, v = state["exp_avg"], state["exp_avg_sq"]
                if m.dtype != g.dtype or v.dtype != g.dtype:  # state loaded in another dtype: the formulas as written
                    m = state["exp_avg"] = beta1 * m + (1.0 - beta1) * g
                    v = state["exp_avg_sq"] = beta2 * v + (1.0 - beta2) * g * g
                    step_size = lr / (1.0 - beta1 ** t)
                    denom = xp.sqrt(v) / math.sqrt(1.0 - beta2 ** t) + eps
                    p.data -= (step_size * m / denom).astype(p.dtype, copy=False)
                    continue
                # The same operations, in PyTorch's order, in place on one scratch buffer (no new arrays per step).
                tmp = xp.empty_like(m)  # an array even for a 0-d parameter (g * c would be a NumPy scalar)
                xp.multiply(g, 1.0 - beta1, out=tmp)
                m *= beta1
                m += tmp  # m = beta1 * m + (1 - beta1) * g
                xp.multiply(g, 1.0 - beta2, out=tmp)
                tmp *= g
                v *= beta2
                v += tmp  # v = beta2 * v + (1 - beta2) * g * g
                xp.sqrt(v, out=tmp)
                tmp /= math.sqrt(1.0 - beta2 ** t)
                tmp += eps  # denom
                xp.divide(m, tmp, out=tmp)  # m / denom, then times the step size: PyTorch's addcdiv order
                tmp *= lr / (1.0 - beta1 ** t)
                p.data -= tmp.astype(p.dtype, copy=False)


# ---------------------------------------------------------------------- schedulers
class LRScheduler:
    """Base class: sets each group's ``lr`` from its initial value and the epoch count.

    Construction records ``initial_lr`` per group and counts as epoch 0; every
    ``step()`` (call it after ``optimizer.step()``, once per epoch) advances one epoch.
    """

    def __init__(self, optimizer: Optimizer):
        if not isinstance(optimizer, Optimizer):
            raise TypeError(f"{type(self).__name__}: expected an Optimizer, got {type(optimizer).__name__}")
        self.optimizer = optimizer
        for group in optimizer.param_groups:
            group.setdefault("initial_lr", group["lr"])
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = -1
        self.step()

    def lr_at(self, base_lr: float, epoch: int) -> float:
        """The learning rate at ``epoch`` for a group that started at ``base_lr`` (per scheduler)."""
        raise NotImplementedError

    def step(self) -> None:
        """Advance one epoch and write the new learning rates into the optimizer."""
        self.last_epoch += 1
        for group, base in zip(self.optimizer.param_groups, self.base_lrs):
            group["lr"] = self.lr_at(base, self.last_epoch)

    def get_last_lr(self) -> list:
        """The learning rate of each parameter group, as a list of floats."""
        return [group["lr"] for group in self.optimizer.param_groups]


class StepLR(LRScheduler):
    """Multiply the learning rate by ``gamma`` every ``step_size`` epochs.

    ``lr(epoch) = initial_lr * gamma ** (epoch // step_size)``.
    """

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1):
        if step_size < 1:
            raise ValueError(f"StepLR: step_size must be a positive integer, got {step_size}")
        self.step_size = int(step_size)
        self.gamma = float(gamma)
        super().__init__(optimizer)

    def lr_at(self, base_lr: float, epoch: int) -> float:
        return base_lr * self.gamma ** (epoch // self.step_size)


class CosineAnnealingLR(LRScheduler):
    """Cosine decay from the initial learning rate to ``eta_min`` over ``T_max`` epochs.

    ``lr(epoch) = eta_min + (initial_lr - eta_min) * (1 + cos(pi * epoch / T_max)) / 2``.
    """

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0):
        if T_max < 1:
            raise ValueError(f"CosineAnnealingLR: T_max must be a positive integer, got {T_max}")
        self.T_max = int(T_max)
        self.eta_min = float(eta_min)
        super().__init__(optimizer)

    def lr_at(self, base_lr: float, epoch: int) -> float:
        return self.eta_min + (base_lr - self.eta_min) * (1.0 + math.cos(math.pi * epoch / self.T_max)) / 2.0


# ---------------------------------------------------------------------- clipping
def clip_grad_norm_(parameters, max_norm: float) -> float:
    """Scale gradients in place so their joint L2 norm is at most ``max_norm``.

    Args:
        parameters: a Tensor or an iterable of Tensors (those without a gradient are skipped).
        max_norm: the largest allowed total norm.
    Returns:
        The total norm ``sqrt(sum_p ||p.grad||^2)`` before clipping, as a Python float.
    The scale is ``max_norm / (total_norm + 1e-6)``, applied only when it is below 1.
    """
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    grads = [p.grad for p in params if p.grad is not None]
    if not grads:
        return 0.0
    total = math.sqrt(sum(float((g.astype("float64") ** 2).sum()) for g in grads))
    coef = float(max_norm) / (total + 1e-6)
    if coef < 1.0:
        for p in params:
            if p.grad is not None:
                p.grad = (p.grad * coef).astype(p.grad.dtype, copy=False)
    return total
