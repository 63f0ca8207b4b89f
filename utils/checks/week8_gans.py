"""Visible checks for week 8 (generative adversarial networks). Each runs in about a second.

Inputs and weights are deterministic (no RNG) with distinct sizes per axis. The networks and
the losses are compared with goldens: what the instructor's reference answer gave for the same
weights and logits, stored as data in ``goldens/week8_gans.npz`` (made by ``golden_cases``
through ``python -m grader goldens``).

``train_step`` is judged by what it does to two small networks the check builds itself and to
two recording optimizers (``record_train_step``): which optimizer stepped, in which order, and
which gradients each network held at that moment. So the four classic mistakes show up as
behaviour: the discriminator's loss reaching the generator (a missing ``detach``), real and
fake labels swapped, the saturating generator loss, and one optimizer stepping for both
networks. The hidden checks run the same recorder on other networks and weights.
"""
from __future__ import annotations

import numpy as np

from ..backend import asnumpy
from ..nn import LeakyReLU, Linear, Module, ReLU, Sequential, Tanh
from ..losses import binary_cross_entropy_with_logits
from ..optim import SGD
from ..tensor import Tensor, no_grad
from .result import CheckItem, CheckResult, check_close, check_gradients_reach_inputs, check_shape, earlier_exercise_failing, run_student
from .stored import load_goldens, prefixed, section

WEEK = "week8_gans"


def waves(shape, phase: float = 0.0, dtype=np.float32) -> np.ndarray:
    """Deterministic, non-degenerate values of ``shape`` (no RNG involved)."""
    n = int(np.prod(shape))
    k = np.arange(n)
    return (np.sin(k * 0.37 + phase) * 0.8 + np.cos(k * 0.11 + 2 * phase) * 0.3).reshape(shape).astype(dtype)


def layer_state(model: Module, phase: float, dtype=np.float32) -> dict:
    """Deterministic weights for every entry of ``model``'s state dict, in its order."""
    state = {}
    for i, (name, value) in enumerate(model.state_dict().items()):
        shape = tuple(value.shape)
        fan_in = shape[1] if len(shape) == 2 else 1
        state[name] = (waves(shape, phase + 0.77 * i, np.float64) * 1.2 / np.sqrt(fan_in)).astype(dtype)
    return state


def _name_mismatch(got, expected) -> str:
    missing, extra = sorted(set(expected) - set(got)), sorted(set(got) - set(expected))
    parts = []
    if missing:
        parts.append(f"missing {', '.join(missing[:4])}")
    if extra:
        parts.append(f"unexpected {', '.join(extra[:4])}")
    return "; ".join(parts)


NET_NAMES = [f"net.{i}.{kind}" for i in (0, 2, 4) for kind in ("weight", "bias")]
G_CASE = dict(latent_dim=3, hidden_dim=5, data_dim=4)
D_CASE = dict(data_dim=6, hidden_dim=5)


def _latents() -> np.ndarray:
    return waves((7, G_CASE["latent_dim"]), 0.3) * 2.0  # (7, 3)


def _samples() -> np.ndarray:
    return waves((7, D_CASE["data_dim"]), 1.1) * 2.0  # (7, 6)


# ---------------------------------------------------------------------- Exercises 1 and 2


def _layout(model, result: CheckResult, what: str, layers) -> bool:
    """``net`` is a Sequential of Linear, activation, Linear, activation, Linear of the given sizes."""
    net = getattr(model, "net", None)
    if not isinstance(net, Sequential):
        result.add(CheckItem("layers live in a Sequential called net", False,
                             f"expected `self.net = Sequential(...)` holding the five layers of the {what}, got {type(net).__name__}"))
        return False
    mismatch = _name_mismatch(list(model.state_dict()), NET_NAMES)
    if not result.add(CheckItem("parameter names net.0, net.2, net.4", not mismatch,
                                "" if not mismatch else f"{mismatch}: build net as Linear, activation, Linear, activation, "
                                "Linear (the activations hold no parameters), and no other parameters")).passed:
        return False
    for index, (fan_in, fan_out) in zip((0, 2, 4), layers):
        layer = net[index]
        ok = isinstance(layer, Linear) and tuple(layer.weight.shape) == (fan_out, fan_in)
        if not result.add(CheckItem(f"net.{index} is Linear({fan_in}, {fan_out})", ok,
                                    "" if ok else f"net.{index} should be Linear({fan_in}, {fan_out}) (weight shape "
                                    f"({fan_out}, {fan_in})), got {type(layer).__name__}"
                                    + (f" with weight {tuple(layer.weight.shape)}" if isinstance(layer, Linear) else ""))).passed:
            return False
    return True


def _activation_hint(net, kind, slope=None) -> str:
    """Name a wrong activation between the Linear layers (introspection only)."""
    for index in (1, 3):
        layer = net[index]
        if not isinstance(layer, kind) or (slope is not None and getattr(layer, "negative_slope", None) != slope):
            want = f"LeakyReLU({slope})" if slope is not None else kind.__name__ + "()"
            got = type(layer).__name__ + (f"({layer.negative_slope})" if hasattr(layer, "negative_slope") else "")
            return f"net.{index} is {got}; the hidden layers use {want}"
    return ""


def test_generator(cls) -> CheckResult:
    """Check ``Generator``: layout, values for given weights (plain and tanh output), gradients."""
    result = CheckResult("Generator")
    c = G_CASE
    model, error = run_student("builds", cls, c["latent_dim"], c["hidden_dim"], c["data_dim"])
    if error:
        result.add(error)
        return result
    if not _layout(model, result, "generator", ((c["latent_dim"], c["hidden_dim"]), (c["hidden_dim"], c["hidden_dim"]),
                                                 (c["hidden_dim"], c["data_dim"]))):
        return result
    golden = section(load_goldens(WEEK), "generator")
    model.load_state_dict(section(golden, "state"))
    with no_grad():
        out, error = run_student("forward", model, Tensor(_latents()))
    if error:
        result.add(error)
        return result
    if not result.add(check_shape("output shape (N, data_dim)", out, (7, c["data_dim"]))).passed:
        return result
    values = check_close("samples match the reference for the same weights", out, golden["out"], rtol=1e-4, atol=1e-5)
    if not values.passed:
        got = asnumpy(out)
        hint = _activation_hint(model.net, ReLU)
        if np.allclose(got, np.tanh(golden["out"]), rtol=1e-4, atol=1e-5):
            hint = "tanh is applied although tanh_output=False: squash only when asked"
        if hint:
            values.message = f"likely cause: {hint}. " + values.message
    if not result.add(values).passed:
        return result
    squashed, error = run_student("builds with tanh_output=True", cls, c["latent_dim"], c["hidden_dim"], c["data_dim"], tanh_output=True)
    if error:
        result.add(error)
        return result
    squashed.load_state_dict(section(golden, "state"))
    with no_grad():
        out, error = run_student("forward with tanh_output=True", squashed, Tensor(_latents()))
    if error:
        result.add(error)
        return result
    values = check_close("tanh_output=True squashes the samples into (-1, 1)", out, golden["out_tanh"], rtol=1e-4, atol=1e-5)
    if not values.passed and np.allclose(asnumpy(out), golden["out"], rtol=1e-4, atol=1e-5):
        values.message = "likely cause: tanh_output=True is ignored: end with .tanh() when it is set. " + values.message
    if result.add(values).passed:
        result.add(check_gradients_reach_inputs(model, {"z": _latents()}, "gradients flow back to z"))
    return result


def test_discriminator(cls) -> CheckResult:
    """Check ``Discriminator``: layout, logits of shape (N,) for given weights, flattening, gradients."""
    result = CheckResult("Discriminator")
    c = D_CASE
    model, error = run_student("builds", cls, c["data_dim"], c["hidden_dim"])
    if error:
        result.add(error)
        return result
    if not _layout(model, result, "discriminator", ((c["data_dim"], c["hidden_dim"]), (c["hidden_dim"], c["hidden_dim"]),
                                                     (c["hidden_dim"], 1))):
        return result
    golden = section(load_goldens(WEEK), "discriminator")
    model.load_state_dict(section(golden, "state"))
    with no_grad():
        out, error = run_student("forward", model, Tensor(_samples()))
    if error:
        result.add(error)
        return result
    shape = check_shape("one logit per sample: shape (N,)", out, (7,))
    if not shape.passed and tuple(getattr(out, "shape", ())) == (7, 1):
        shape.message += "; reshape the (N, 1) output of the last Linear to (N,)"
    if not result.add(shape).passed:
        return result
    values = check_close("logits match the reference for the same weights", out, golden["logits"], rtol=1e-4, atol=1e-5)
    if not values.passed:
        got = asnumpy(out)
        hint = _activation_hint(model.net, LeakyReLU, 0.2)
        if np.allclose(got, 1 / (1 + np.exp(-golden["logits"])), rtol=1e-4, atol=1e-5):
            hint = "a sigmoid was applied: return raw logits (the losses apply the sigmoid in a numerically stable way)"
        if hint:
            values.message = f"likely cause: {hint}. " + values.message
    if not result.add(values).passed:
        return result
    images = _samples().reshape(7, 1, 2, 3)  # the same samples as (N, C, H, W) images
    with no_grad():
        out, error = run_student("forward on (N, 1, 2, 3) images", model, Tensor(images))
    if error:
        result.add(error)
        return result
    flat = check_close("images are flattened per sample", out, golden["logits"], rtol=1e-4, atol=1e-5)
    if not flat.passed:
        flat.message = "reshape x to (N, -1) before the first Linear, so (N, C, H, W) images work too. " + flat.message
    if result.add(flat).passed:
        result.add(check_gradients_reach_inputs(model, {"x": _samples()}, "gradients flow back to x"))
    return result


# ---------------------------------------------------------------------- Exercises 3 and 4

REAL_LOGITS = np.array([2.5, -0.7, 1.3, 0.2, -1.9, 3.1, 0.8], dtype=np.float64)  # 7 real samples
FAKE_LOGITS = np.array([-1.2, 0.4, -3.0, 1.7, -0.1], dtype=np.float64)  # 5 fakes: another batch size on purpose
EXTREME = np.array([800.0, -800.0, 45.0], dtype=np.float64)  # sigmoid(-800) is 0 even in float64: log(sigmoid(x)) gives -inf


def _loss_case(fn, args, name, result):
    """Value and input gradients of ``fn(*args)`` (float64 Tensors); None when it failed (items added)."""
    leaves = [Tensor(a, requires_grad=True, dtype=np.float64) for a in args]
    out, error = run_student(name, fn, *leaves)
    if error:
        result.add(error)
        return None
    if not isinstance(out, Tensor):
        result.add(CheckItem(f"{name}: returns a Tensor", False, f"got a {type(out).__name__}: build the loss from Tensor operations "
                             "(binary_cross_entropy_with_logits returns one) so that it can be backpropagated"))
        return None
    if not result.add(check_shape(f"{name}: a scalar", out, ())).passed:
        return None
    try:
        out.backward()
    except Exception as exc:  # noqa: BLE001 - a student's graph may break in many ways
        result.add(CheckItem(f"{name}: backward", False, f"backward raised {type(exc).__name__}: {exc}"))
        return None
    grads = [None if leaf.grad is None else asnumpy(leaf.grad) for leaf in leaves]
    return float(asnumpy(out)), grads


def _diagnose(value, variants: dict, hints: dict) -> str:
    for key, hint in hints.items():
        if key in variants and np.allclose(value, variants[key], rtol=1e-6, atol=1e-9):
            return hint
    return ""


def test_discriminator_loss(fn) -> CheckResult:
    """Check ``discriminator_loss(real_logits, fake_logits)``: value, gradients, extreme logits."""
    result = CheckResult("discriminator_loss")
    golden = section(load_goldens(WEEK), "d_loss")
    case = _loss_case(fn, (REAL_LOGITS, FAKE_LOGITS), "loss", result)
    if case is None:
        return result
    value, (g_real, g_fake) = case
    item = check_close("loss matches the reference", value, float(golden["value"][0]), rtol=1e-6, atol=1e-9)
    if not item.passed:
        hint = _diagnose(value, section(golden, "variant"), {
            "swapped": "the labels are swapped: real samples are labelled 1 (target ones) and fakes 0 (target zeros)",
            "half": "the two terms are averaged; the loss is their sum, each term a mean over its own batch",
            "sums": "each term sums over its batch; take the mean of each (the batches may differ in size)",
        })
        if hint:
            item.message = f"likely cause: {hint}. " + item.message
    if not result.add(item).passed:
        return result
    for name, grad, want in (("real_logits", g_real, golden["grad_real"]), ("fake_logits", g_fake, golden["grad_fake"])):
        if grad is None:
            result.add(CheckItem(f"gradient reaches {name}", False, f"no gradient reached {name}: keep the loss in Tensor operations"))
            return result
        if not result.add(check_close(f"gradient with respect to {name}", grad, want, rtol=1e-6, atol=1e-9)).passed:
            return result
    case = _loss_case(fn, (EXTREME, -EXTREME), "extreme logits", result)
    if case is not None:
        finite = np.isfinite(case[0]) and all(g is not None and np.all(np.isfinite(g)) for g in case[1])
        item = CheckItem("stable for logits of +-800", finite and bool(np.all(np.isclose(case[0], golden["extreme"], rtol=1e-6, atol=1e-9))),
                         "the loss or its gradient is wrong or not finite for large logits: log(sigmoid(x)) underflows; "
                         "use binary_cross_entropy_with_logits, which stays exact for any logit")
        result.add(item)
    return result


def test_generator_loss(fn) -> CheckResult:
    """Check ``generator_loss(fake_logits)`` (non-saturating): value, gradient, extreme logits."""
    result = CheckResult("generator_loss")
    golden = section(load_goldens(WEEK), "g_loss")
    case = _loss_case(fn, (FAKE_LOGITS,), "loss", result)
    if case is None:
        return result
    value, (grad,) = case
    item = check_close("loss matches the non-saturating loss", value, float(golden["value"][0]), rtol=1e-6, atol=1e-9)
    if not item.passed:
        hint = _diagnose(value, section(golden, "variant"), {
            "saturating": "this is the saturating loss, mean log(1 - D(G(z))), whose gradient vanishes exactly when the "
                          "discriminator wins; minimise -mean log D(G(z)) instead (fakes labelled 1)",
            "negated": "the sign is flipped: the generator minimises -log D(G(z)), i.e. the cross-entropy with target ones",
            "zeros": "the fakes are labelled 0: that is the discriminator's view; the generator wants them called real (1)",
        })
        if hint:
            item.message = f"likely cause: {hint}. " + item.message
    if not result.add(item).passed:
        return result
    if grad is None:
        result.add(CheckItem("gradient reaches fake_logits", False, "no gradient reached fake_logits: keep the loss in Tensor operations"))
        return result
    if not result.add(check_close("gradient with respect to fake_logits", grad, golden["grad"], rtol=1e-6, atol=1e-9)).passed:
        return result
    case = _loss_case(fn, (-EXTREME,), "extreme logits", result)
    if case is not None:
        finite = np.isfinite(case[0]) and case[1][0] is not None and np.all(np.isfinite(case[1][0]))
        result.add(CheckItem("stable for logits of +-800", finite and bool(np.all(np.isclose(case[0], golden["extreme"], rtol=1e-6, atol=1e-9))),
                             "the loss or its gradient is wrong or not finite for large logits: use "
                             "binary_cross_entropy_with_logits rather than log(sigmoid(x))"))
    return result


# ---------------------------------------------------------------------- Exercise 5: train_step


class ProbeDiscriminator(Module):
    """The recorder's own discriminator: Linear, Tanh, Linear; (N, data_dim) -> (N,) logits."""

    def __init__(self, data_dim: int, hidden_dim: int):
        super().__init__()
        self.net = Sequential(Linear(data_dim, hidden_dim), Tanh(), Linear(hidden_dim, 1))

    def forward(self, x):
        x = self._input(x)
        return self.net(x)[:, 0]  # (N,)


def probe_networks(latent_dim: int, hidden_dim: int, data_dim: int, g_state: dict, d_state: dict, dtype=np.float64):
    """Two small networks with the given weights: G = Linear, Tanh, Linear (latent -> data) as a
    Sequential, and a ``ProbeDiscriminator``. Deliberately not the exercise's classes, so that
    ``train_step`` is judged on its own."""
    G = Sequential(Linear(latent_dim, hidden_dim), Tanh(), Linear(hidden_dim, data_dim)).to(dtype=dtype)
    D = ProbeDiscriminator(data_dim, hidden_dim).to(dtype=dtype)
    G.load_state_dict({k: np.asarray(v, dtype=dtype) for k, v in g_state.items()})
    D.load_state_dict({k: np.asarray(v, dtype=dtype) for k, v in d_state.items()})
    return G, D


class RecordingSGD(SGD):
    """Plain SGD that logs each ``zero_grad``/``step`` call and, at each step, the gradient every
    watched network's parameters hold (None where a parameter has none)."""

    def __init__(self, params, lr: float, name: str, log: list, watched: dict):
        super().__init__(params, lr=lr)
        self._name, self._log, self._watched = name, log, watched

    def zero_grad(self) -> None:
        self._log.append({"call": f"{self._name}.zero_grad"})
        super().zero_grad()

    def step(self) -> None:
        grads = {net: [None if p.grad is None else np.array(asnumpy(p.grad), dtype=np.float64) for p in module.parameters()]
                 for net, module in self._watched.items()}
        self._log.append({"call": f"{self._name}.step", "grads": grads})
        super().step()


def stale_gradient(shape, index: int) -> np.ndarray:
    """The leftover gradient the recorder plants in parameter ``index`` before the call (float64)."""
    return waves(shape, 0.5 + 0.9 * index, np.float64) * 0.7


def record_train_step(train_step, G, D, real, z, lr: float = 0.1, **kwargs) -> dict:
    """Run ``train_step(G, D, opt_g, opt_d, real, z, **kwargs)`` with recording SGD optimizers.

    Every parameter starts with a leftover gradient (``stale_gradient``), as after the previous
    step of a training loop, so a forgotten ``zero_grad()`` shows. Returns plain data: ``calls``
    (``["opt_d.zero_grad", "opt_d.step", ...]`` in order), ``steps`` (one entry per step call:
    ``{"call", "grads": {"G": [...], "D": [...]}}``), ``stale`` (``{"G": [...], "D": [...]}``, the
    planted gradients), ``returned`` (what train_step returned, as floats when it can) and
    ``after`` (``{"G": [...], "D": [...]}``, the parameters after the call). Raises whatever
    ``train_step`` raises.
    """
    log: list = []
    watched = {"G": G, "D": D}
    stale = {}
    for net, module in watched.items():
        stale[net] = []
        for i, p in enumerate(module.parameters()):
            leftover = stale_gradient(tuple(p.shape), i + (0 if net == "G" else 7))
            p.grad = leftover.astype(p.dtype)
            stale[net].append(leftover)
    opt_g = RecordingSGD(G.parameters(), lr, "opt_g", log, watched)
    opt_d = RecordingSGD(D.parameters(), lr, "opt_d", log, watched)
    returned = train_step(G, D, opt_g, opt_d, Tensor(real, dtype=real.dtype), Tensor(z, dtype=z.dtype), **kwargs)
    try:
        returned = [float(asnumpy(v)) for v in returned]
    except (TypeError, ValueError):
        returned = None
    return {"calls": [entry["call"] for entry in log],
            "steps": [entry for entry in log if "grads" in entry],
            "stale": stale,
            "returned": returned,
            "after": {net: [np.array(asnumpy(p.data), dtype=np.float64) for p in module.parameters()] for net, module in watched.items()}}


def _grads_at(record: dict, call: str):
    """The gradients recorded at the first ``call`` step, or None when it never stepped."""
    for entry in record.get("steps", []):
        if entry.get("call") == call:
            return entry.get("grads", {})
    return None


def _close_lists(got, want, rtol=1e-6, atol=1e-9) -> bool:
    if got is None or want is None or len(got) != len(want):
        return False
    for g, w in zip(got, want):
        if w is None or g is None:
            if (w is None) != (g is None or not np.any(np.asarray(g))):
                return False
            continue
        g, w = np.asarray(g, dtype=np.float64), np.asarray(w, dtype=np.float64)
        if g.shape != w.shape or not np.allclose(g, w, rtol=rtol, atol=atol):
            return False
    return True


def touched(grads, stale) -> bool:
    """True when ``grads`` (a list of arrays or None) differ from both None/zero and the planted ``stale`` ones:
    some backward pass added to them."""
    for g, leftover in zip(grads or [], stale or []):
        if g is None or not np.any(np.asarray(g) != 0):
            continue
        if not np.allclose(np.asarray(g, dtype=np.float64), leftover, rtol=1e-6, atol=1e-9):
            return True
    return False


DETACH_HINT = ("when opt_d stepped, the generator's parameters already held new gradients: a backward pass reached G "
               "before the discriminator's update. Feed D the fakes as fake.detach() in the discriminator's loss, and "
               "backpropagate the generator's loss only after opt_d.step()")
ORDER_HINT = "update the discriminator first (opt_d.zero_grad, backward of its loss, opt_d.step), then the generator with opt_g"


def judge_order(record: dict) -> CheckItem:
    """Each optimizer steps exactly once, the discriminator's first."""
    calls = [c for c in record.get("calls", []) if c.endswith(".step")]
    name = "each network is updated once, by its own optimizer: opt_d first, then opt_g"
    if calls == ["opt_d.step", "opt_g.step"]:
        return CheckItem(name, True)
    if calls.count("opt_g.step") == 0 and calls.count("opt_d.step") >= 2:
        why = "opt_d stepped for both updates and opt_g never did: one optimizer is updating both networks' turns"
    elif calls.count("opt_d.step") == 0 and calls.count("opt_g.step") >= 2:
        why = "opt_g stepped for both updates and opt_d never did: one optimizer is updating both networks' turns"
    elif calls == ["opt_g.step", "opt_d.step"]:
        why = "the generator was updated before the discriminator"
    else:
        why = f"the optimizers stepped in the order {calls}"
    return CheckItem(name, False, f"{why}; {ORDER_HINT}")


def judge_detached(record: dict) -> CheckItem:
    """At the discriminator's step no gradient has reached the generator."""
    grads = _grads_at(record, "opt_d.step")
    name = "the discriminator's update does not reach the generator (detach)"
    if grads is None:
        return CheckItem(name, False, "opt_d never stepped: " + ORDER_HINT)
    reached = touched(grads.get("G"), record.get("stale", {}).get("G"))
    return CheckItem(name, not reached, DETACH_HINT if reached else "")


def judge_gradients(record: dict, expected: dict, variants: dict | None = None) -> list[CheckItem]:
    """The discriminator's gradient at opt_d.step and the generator's at opt_g.step, against ``expected``."""
    items = []
    variants = variants or {}
    got_d, want_d = _grads_at(record, "opt_d.step"), _grads_at(expected, "opt_d.step")
    item = CheckItem("the discriminator's gradient at its step comes from the discriminator's loss",
                     got_d is not None and _close_lists(got_d.get("D"), want_d["D"]))
    if not item.passed:
        if got_d is None:
            item.message = "opt_d never stepped: " + ORDER_HINT
        elif "swapped" in variants and _close_lists(got_d.get("D"), _grads_at(variants["swapped"], "opt_d.step")["D"]):
            item.message = ("likely cause: real and fake labels are swapped (the discriminator is trained to call real "
                            "samples fake): pass D(real) first and D(fake.detach()) second to discriminator_loss")
        else:
            item.message = ("D's gradients differ from those of discriminator_loss(D(real), D(fake.detach())) for this "
                            "batch: check the labels, that opt_d.zero_grad() comes before the backward (the previous "
                            "step's gradients are still there), and that only the discriminator's loss is "
                            "backpropagated before opt_d.step()")
    items.append(item)
    got_g, want_g = _grads_at(record, "opt_g.step"), _grads_at(expected, "opt_g.step")
    item = CheckItem("the generator's gradient at its step comes from the non-saturating generator loss",
                     got_g is not None and _close_lists(got_g.get("G"), want_g["G"]))
    if not item.passed:
        if got_g is None:
            item.message = "opt_g never stepped: " + ORDER_HINT
        elif "saturating" in variants and _close_lists(got_g.get("G"), _grads_at(variants["saturating"], "opt_g.step")["G"]):
            item.message = ("likely cause: the saturating loss log(1 - D(G(z))) was used where the non-saturating one was "
                            "asked for: use g_loss_fn (generator_loss unless another is given)")
        elif "stale" in variants and _close_lists(got_g.get("G"), _grads_at(variants["stale"], "opt_g.step")["G"]):
            item.message = ("likely cause: the generator's loss was computed with the discriminator from before its update: "
                            "call D(fake) again after opt_d.step()")
        else:
            item.message = ("G's gradients differ from those of g_loss_fn(D(fake)) with the updated D: call opt_g.zero_grad() "
                            "right before the generator's backward, and backpropagate only the generator's loss")
    items.append(item)
    return items


def judge_result(record: dict, expected: dict) -> CheckItem:
    """The returned losses and the parameters after the step."""
    name = "returns (d_loss, g_loss) as numbers, and leaves both networks updated"
    got = record.get("returned")
    if got is None or len(got) != 2:
        return CheckItem(name, False, "train_step should return the two losses as a tuple of floats: (d_loss.item(), g_loss.item())")
    if not np.allclose(got, expected["returned"], rtol=1e-6, atol=1e-9):
        return CheckItem(name, False, "the returned (d_loss, g_loss) are not the losses of this step (d_loss first, then "
                         "g_loss, each computed before its own update)", expected=np.round(expected["returned"], 6),
                         received=np.round(got, 6))
    for net in ("D", "G"):
        if not _close_lists(record["after"][net], expected["after"][net]):
            return CheckItem(name, False, f"the {'discriminator' if net == 'D' else 'generator'}'s parameters after "
                             "the call differ from one step of its own optimizer")
    return CheckItem(name, True)


TRAIN_CASE = dict(latent_dim=2, hidden_dim=4, data_dim=3, batch=5)


def fresh_probe_networks(case: dict):
    """The recorder's two networks for ``case`` with their default (random) weights: (G, D)."""
    G = Sequential(Linear(case["latent_dim"], case["hidden_dim"]), Tanh(), Linear(case["hidden_dim"], case["data_dim"]))
    D = ProbeDiscriminator(case["data_dim"], case["hidden_dim"])
    return G, D


def train_case(phase: float = 0.0, case: dict = TRAIN_CASE) -> tuple:
    """``(G weights, D weights, real (N, data_dim), z (N, latent))``, all float64, for ``probe_networks``."""
    G, D = fresh_probe_networks(case)
    g_state, d_state = layer_state(G, 0.2 + phase, np.float64), layer_state(D, 1.4 + phase, np.float64)
    real = waves((case["batch"], case["data_dim"]), 0.9 + phase, np.float64) * 2.0
    z = waves((case["batch"], case["latent_dim"]), 2.3 + phase, np.float64) * 1.5
    return g_state, d_state, real, z


def saturating_loss(fake_logits):
    """The saturating generator loss, mean log(1 - sigmoid(x)): the recorder's stand-in for ``g_loss_fn``."""
    zeros = np.zeros(fake_logits.shape, dtype=fake_logits.dtype)
    return -binary_cross_entropy_with_logits(fake_logits, zeros)


def run_train_case(train_step, phase: float = 0.0, case: dict = TRAIN_CASE, **kwargs) -> dict:
    """``record_train_step`` of ``train_step`` on the deterministic case ``phase``."""
    g_state, d_state, real, z = train_case(phase, case)
    G, D = probe_networks(case["latent_dim"], case["hidden_dim"], case["data_dim"], g_state, d_state)
    return record_train_step(train_step, G, D, real, z, **kwargs)


def _record_arrays(prefix: str, record: dict) -> dict:
    """A record as flat arrays for the goldens (grads at each step, returned losses, parameters after)."""
    out = {f"{prefix}/returned": np.asarray(record["returned"], dtype=np.float64)}
    for entry in record["steps"]:
        for net, grads in entry["grads"].items():
            for i, g in enumerate(grads):
                if g is not None:
                    out[f"{prefix}/{entry['call']}/{net}/{i}"] = g
    for net, params in record["after"].items():
        for i, p in enumerate(params):
            out[f"{prefix}/after/{net}/{i}"] = p
    for net, grads in record["stale"].items():
        for i, g in enumerate(grads):
            out[f"{prefix}/stale/{net}/{i}"] = g
    return out


def _record_from_arrays(values: dict, n_params: dict) -> dict:
    """Rebuild a record (as ``record_train_step`` returns) from ``_record_arrays`` output."""
    steps = []
    for call in ("opt_d.step", "opt_g.step"):
        grads = {net: [values.get(f"{call}/{net}/{i}") for i in range(n)] for net, n in n_params.items()}
        steps.append({"call": call, "grads": grads})
    stale = {net: [values[f"stale/{net}/{i}"] for i in range(n)] for net, n in n_params.items()}
    return {"calls": ["opt_d.step", "opt_g.step"], "steps": steps, "stale": stale, "returned": list(values["returned"]),
            "after": {net: [values[f"after/{net}/{i}"] for i in range(n)] for net, n in n_params.items()}}


def _stored_record(name: str) -> dict:
    G, D = fresh_probe_networks(TRAIN_CASE)
    n_params = {"G": len(list(G.parameters())), "D": len(list(D.parameters()))}
    return _record_from_arrays(section(load_goldens(WEEK), f"train/{name}"), n_params)


def test_train_step(fn) -> CheckResult:
    """Check ``train_step`` on two small networks with recording optimizers."""
    result = CheckResult("train_step")
    record, error = run_student("runs one step", run_train_case, fn)
    if error:
        result.add(error)
        return result
    expected = _stored_record("expected")
    variants = {name: _stored_record(name) for name in ("swapped", "saturating")}
    items = [judge_order(record), judge_detached(record), *judge_gradients(record, expected, variants), judge_result(record, expected)]
    for item in items:
        if not item.passed:
            item.message = earlier_exercise_failing(fn, (
                ("Exercise 3 (discriminator_loss)", test_discriminator_loss, ("discriminator_loss",)),
                ("Exercise 4 (generator_loss)", test_generator_loss, ("generator_loss",))), item.message)
        result.add(item)
        if not item.passed:
            return result
    record, error = run_student("runs with g_loss_fn given", run_train_case, fn, g_loss_fn=saturating_loss)
    if error:
        result.add(error)
        return result
    want = _grads_at(variants["saturating"], "opt_g.step")["G"]
    got = _grads_at(record, "opt_g.step")
    result.add(CheckItem("uses g_loss_fn when one is given", got is not None and _close_lists(got.get("G"), want),
                         "with g_loss_fn=saturating_generator_loss the generator's gradient did not change to that loss's: "
                         "compute the generator's loss as g_loss_fn(D(fake))"))
    return result


# ---------------------------------------------------------------------- goldens


def golden_cases(namespace) -> dict[str, np.ndarray]:
    """Run every case through the reference answers in ``namespace`` (``python -m grader goldens``)."""
    out = {}
    G = namespace["Generator"](G_CASE["latent_dim"], G_CASE["hidden_dim"], G_CASE["data_dim"])
    state = layer_state(G, 0.4)
    G.load_state_dict(state)
    out.update(prefixed("generator/state", state))
    with no_grad():
        out["generator/out"] = asnumpy(G(Tensor(_latents())))
        G_tanh = namespace["Generator"](G_CASE["latent_dim"], G_CASE["hidden_dim"], G_CASE["data_dim"], tanh_output=True)
        G_tanh.load_state_dict(state)
        out["generator/out_tanh"] = asnumpy(G_tanh(Tensor(_latents())))
        D = namespace["Discriminator"](D_CASE["data_dim"], D_CASE["hidden_dim"])
        state = layer_state(D, 1.7)
        D.load_state_dict(state)
        out.update(prefixed("discriminator/state", state))
        out["discriminator/logits"] = asnumpy(D(Tensor(_samples())))

    d_loss, g_loss = namespace["discriminator_loss"], namespace["generator_loss"]

    def value_and_grads(fn, *arrays):
        leaves = [Tensor(a, requires_grad=True, dtype=np.float64) for a in arrays]
        loss = fn(*leaves)
        loss.backward()
        return float(asnumpy(loss)), [asnumpy(leaf.grad) for leaf in leaves]

    value, (g_real, g_fake) = value_and_grads(d_loss, REAL_LOGITS, FAKE_LOGITS)
    out.update({"d_loss/value": np.float64(value), "d_loss/grad_real": g_real, "d_loss/grad_fake": g_fake,
                "d_loss/extreme": np.float64(value_and_grads(d_loss, EXTREME, -EXTREME)[0]),
                "d_loss/variant/swapped": np.float64(value_and_grads(d_loss, FAKE_LOGITS, REAL_LOGITS)[0]),
                "d_loss/variant/half": np.float64(value / 2)})
    real_sum = value_and_grads(d_loss, REAL_LOGITS, np.full(1, -1e3))[0] * len(REAL_LOGITS)  # the real term summed
    fake_sum = value_and_grads(d_loss, np.full(1, 1e3), FAKE_LOGITS)[0] * len(FAKE_LOGITS)  # the fake term summed
    out["d_loss/variant/sums"] = np.float64(real_sum + fake_sum)
    value, (grad,) = value_and_grads(g_loss, FAKE_LOGITS)
    out.update({"g_loss/value": np.float64(value), "g_loss/grad": grad,
                "g_loss/extreme": np.float64(value_and_grads(g_loss, -EXTREME)[0]),
                "g_loss/variant/saturating": np.float64(-value_and_grads(g_loss, -FAKE_LOGITS)[0]),  # mean log(1 - sigmoid(x))
                "g_loss/variant/negated": np.float64(-value),
                "g_loss/variant/zeros": np.float64(value_and_grads(g_loss, -FAKE_LOGITS)[0])})

    step = namespace["train_step"]
    out.update(_record_arrays("train/expected", run_train_case(step)))
    out.update(_record_arrays("train/saturating", run_train_case(step, g_loss_fn=saturating_loss)))
    namespace["discriminator_loss"] = lambda real, fake: d_loss(fake, real)  # the labels swapped, inside train_step
    try:
        out.update(_record_arrays("train/swapped", run_train_case(step)))
    finally:
        namespace["discriminator_loss"] = d_loss
    return out


__all__ = ["ProbeDiscriminator", "RecordingSGD", "fresh_probe_networks", "golden_cases", "judge_detached", "judge_gradients", "judge_order",
           "judge_result", "probe_networks", "record_train_step", "run_train_case", "saturating_loss", "stale_gradient", "test_discriminator",
           "test_discriminator_loss", "test_generator", "test_generator_loss", "test_train_step", "train_case", "waves"]
