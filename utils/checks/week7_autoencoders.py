"""Visible checks for week 7 (autoencoders and the VAE). Each runs in about a second.

Inputs and weights are deterministic (no RNG) with distinct sizes per axis, so a swapped axis
fails loudly. Expected values are goldens: what the instructor's reference answers gave for the
same inputs and weights, stored in ``goldens/week7_autoencoders.npz`` (made by ``golden_cases``
below, through ``python -m grader goldens``). Common mistakes are named: a KL with its sign
flipped or its factor 1/2 lost, a KL summed over the batch instead of the latent axis, the
log-variance used as a variance or a standard deviation, a sample drawn outside the graph (no
reparameterisation trick: no gradient reaches the encoder), a reconstruction term averaged over
pixels or summed over the wrong axis, a decoder without its final sigmoid, swapped mean and
log-variance heads, a VAE that decodes the mean instead of a sample or ignores the noise it is given.
"""
from __future__ import annotations

import numpy as np

from ..backend import asnumpy
from ..nn import Linear, Module, ReLU, Sequential, Sigmoid
from ..tensor import Tensor, no_grad
from .result import (CheckItem, CheckResult, check_close, check_gradients_reach_inputs, check_gradients_reach_parameters,
                     check_shape, earlier_exercise_failing, run_student)
from .stored import load_goldens, prefixed, section

WEEK = "week7_autoencoders"
NO_TRICK = ("the sample was computed outside the Tensor graph (NumPy, np.random.normal, .numpy() or a new Tensor(...)): "
            "without the reparameterisation trick no gradient reaches the encoder. Write z = mu + sigma * eps with Tensor operations")


# ---------------------------------------------------------------------- deterministic inputs
def waves(shape, phase: float = 0.0, dtype=np.float32) -> np.ndarray:
    """Deterministic, non-degenerate values of ``shape`` in about [-1.1, 1.1] (no RNG involved)."""
    n = int(np.prod(shape))
    k = np.arange(n)
    return (np.sin(k * 0.37 + phase) * 0.8 + np.cos(k * 0.11 + 2 * phase) * 0.3).reshape(shape).astype(dtype)


def unit_waves(shape, phase: float = 0.0, low: float = 0.0, high: float = 1.0) -> np.ndarray:
    """``waves`` squeezed into [low, high] (pixels, probabilities)."""
    w = waves(shape, phase, np.float64)
    return (low + (high - low) * (w - w.min()) / (w.max() - w.min())).astype(np.float32)


AE_CONFIG = dict(in_features=12, hidden=7, latent_dim=3)
VAE_CONFIG = dict(in_features=10, hidden=6, latent_dim=4)
N_AE, N_VAE = 5, 3
LATENT = (4, 3)            # mu, log_var and eps of the reparameterisation and KL cases: N=4 images, K=3
LOSS_SHAPES = (5, 7, 3)    # N images of D pixels, K latent dimensions


def _ae_input():
    return unit_waves((N_AE, AE_CONFIG["in_features"]), 0.3)


def _vae_inputs():
    x = unit_waves((N_VAE, VAE_CONFIG["in_features"]), 0.8)
    eps = waves((N_VAE, VAE_CONFIG["latent_dim"]), 2.4)
    return x, eps


def _latent_case():
    """mu, log_var (negative and positive entries), eps and a second eps: each (4, 3)."""
    return waves(LATENT, 0.2), 1.5 * waves(LATENT, 1.1), waves(LATENT, 2.7), waves(LATENT, 0.9)


def _loss_case():
    N, D, K = LOSS_SHAPES
    return (unit_waves((N, D), 0.5, 0.05, 0.95), unit_waves((N, D), 1.7), waves((N, K), 0.4), waves((N, K), 2.2))


def layer_state(model: Module, dtype=np.float32) -> dict:
    """Deterministic weights for every entry of ``model``'s state dict, in its order."""
    state = {}
    for i, (name, value) in enumerate(model.state_dict().items()):
        shape = tuple(value.shape)
        fan_in = shape[1] if len(shape) == 2 else 1
        scale = 1.2 / np.sqrt(fan_in) if len(shape) == 2 else 0.2
        state[name] = (waves(shape, 0.5 + 0.77 * i, np.float64) * scale).astype(dtype)
    return state


def _t(values, requires_grad=False) -> Tensor:
    values = np.asarray(values)
    return Tensor(values.copy(), requires_grad=requires_grad, dtype=values.dtype)


def _numpy(value) -> np.ndarray:
    return np.asarray(asnumpy(value.data if isinstance(value, Tensor) else value), dtype=np.float64)


# ---------------------------------------------------------------------- goldens
def _run_ae(model) -> dict:
    x = _ae_input()
    model.eval()
    with no_grad():
        codes = model.encode(Tensor(x))
        return {"codes": asnumpy(codes.numpy()), "decoded": asnumpy(model.decode(codes).numpy()),
                "output": asnumpy(model(Tensor(x)).numpy())}


def _run_vae(model) -> dict:
    x, eps = _vae_inputs()
    model.eval()
    with no_grad():
        x_hat, mu, log_var = model(Tensor(x), Tensor(eps))
        decoded_mean = model.decode(mu)
    return {"x_hat": asnumpy(x_hat.numpy()), "mu": asnumpy(mu.numpy()), "log_var": asnumpy(log_var.numpy()),
            "variant/decodes_mean": asnumpy(decoded_mean.numpy())}


def golden_cases(namespace) -> dict[str, np.ndarray]:
    """Run every case through the reference answers in ``namespace`` (``python -m grader goldens``)."""
    out = {}
    ae = namespace["Autoencoder"](**AE_CONFIG)
    state = layer_state(ae)
    ae.load_state_dict(state)
    out.update(prefixed("ae/state", state))
    out.update(prefixed("ae", _run_ae(ae)))

    mu, log_var, eps, eps2 = _latent_case()
    reparameterize = namespace["reparameterize"]
    m, lv = _t(mu, True), _t(log_var, True)
    z = reparameterize(m, lv, _t(eps))
    upstream = waves(LATENT, 1.9)
    z.backward(upstream)
    out["reparameterize/z"] = asnumpy(z.numpy())
    out["reparameterize/z_other_eps"] = asnumpy(reparameterize(_t(mu), _t(log_var), _t(eps2)).numpy())
    out["reparameterize/grad_mu"] = asnumpy(m.grad)
    out["reparameterize/grad_log_var"] = asnumpy(lv.grad)

    kl_divergence = namespace["kl_divergence"]
    m, lv = _t(mu, True), _t(log_var, True)
    kl = kl_divergence(m, lv)
    kl.backward(waves((LATENT[0],), 0.6))
    out["kl/values"] = asnumpy(kl.numpy())
    out["kl/grad_mu"] = asnumpy(m.grad)
    out["kl/grad_log_var"] = asnumpy(lv.grad)
    # one KL per latent entry (each entry as a 1-dimensional latent): for the wrong-axis diagnosis
    out["kl/elements"] = asnumpy(kl_divergence(_t(mu.reshape(-1, 1)), _t(log_var.reshape(-1, 1))).numpy()).reshape(LATENT)
    positive = np.abs(log_var) + 0.5  # a log-variance that is a valid variance too
    out["kl/positive_log_var"] = asnumpy(kl_divergence(_t(mu), _t(positive)).numpy())
    out["kl/variant/as_variance"] = asnumpy(kl_divergence(_t(mu), _t(np.log(positive))).numpy())

    vae_loss = namespace["vae_loss"]
    x_hat, x, mu, log_var = _loss_case()
    leaves = [_t(x_hat, True), _t(mu, True), _t(log_var, True)]
    loss = vae_loss(leaves[0], _t(x), leaves[1], leaves[2])
    loss.backward()
    out["loss/value"] = asnumpy(loss.numpy())
    out["loss/grad_x_hat"] = asnumpy(leaves[0].grad)
    out["loss/grad_mu"] = asnumpy(leaves[1].grad)
    out["loss/grad_log_var"] = asnumpy(leaves[2].grad)
    zeros = np.zeros_like(mu)  # KL(N(0, 1) || N(0, 1)) = 0: the loss is the reconstruction term alone
    out["loss/reconstruction"] = asnumpy(vae_loss(_t(x_hat), _t(x), _t(zeros), _t(zeros)).numpy())

    vae = namespace["VAE"](**VAE_CONFIG)
    state = layer_state(vae)
    vae.load_state_dict(state)
    out.update(prefixed("vae/state", state))
    out.update(prefixed("vae", _run_vae(vae)))
    return out


def _golden(key: str) -> np.ndarray:
    value = load_goldens(WEEK)[key]
    return value.reshape(()) if key.startswith("loss/") and value.size == 1 else value  # stored scalars come back as (1,)


def _likely(item: CheckItem, hint: str) -> CheckItem:
    if hint and not item.passed:
        item.message = f"likely cause: {hint}. " + item.message
    return item


def _matches(received, candidate) -> bool:
    try:
        received, candidate = _numpy(received), _numpy(candidate)
    except (TypeError, ValueError):  # not an array at all (None, a string): it matches nothing
        return False
    return received.shape == candidate.shape and bool(np.all(np.isfinite(candidate))) and \
        np.allclose(received, candidate, rtol=1e-4, atol=1e-5)


def _layout(model, expected: dict, parts: str) -> CheckItem:
    """Pass when ``model``'s state dict has exactly the names and shapes in ``expected``."""
    got = {name: tuple(v.shape) for name, v in model.state_dict().items()}
    want = {name: tuple(v.shape) for name, v in expected.items()}
    missing, extra = sorted(set(want) - set(got)), sorted(set(got) - set(want))
    if missing or extra:
        detail = "; ".join(p for p in (f"missing {', '.join(missing[:4])}" if missing else "",
                                       f"unexpected {', '.join(extra[:4])}" if extra else "") if p)
        return CheckItem("parameter names follow the layout in the docstring", False, f"{detail}: build {parts}")
    wrong = [n for n in want if got[n] != want[n]]
    if wrong:
        n = wrong[0]
        return CheckItem("parameter shapes follow the layout in the docstring", False,
                         f"{n} has shape {got[n]}, expected {want[n]}: check the in and out sizes of each Linear")
    return CheckItem("parameter names and shapes follow the layout in the docstring", True)


def _sequential_types(model, name: str, types: tuple) -> str:
    """'' when ``model.<name>`` is a Sequential of exactly ``types``, else a message naming the difference."""
    seq = getattr(model, name, None)
    if not isinstance(seq, Sequential):
        return f"`self.{name}` should be a Sequential, got {type(seq).__name__}"
    got = [type(m).__name__ for m in seq]
    want = [t.__name__ for t in types]
    if got != want:
        return f"`self.{name}` holds {', '.join(got) or 'nothing'}; it should hold {', '.join(want)} in that order"
    return ""


# ---------------------------------------------------------------------- Exercise 1
def test_autoencoder(cls) -> CheckResult:
    """Check ``Autoencoder``: its layout, then encode, decode and forward for given weights, and gradients."""
    result = CheckResult("Autoencoder")
    cfg = AE_CONFIG
    model, error = run_student("builds", cls, **cfg)
    if error:
        result.add(error)
        return result
    golden = section(load_goldens(WEEK), "ae")
    state = section(golden, "state")
    for name, types, end in (("encoder", (Linear, ReLU, Linear), ""),
                             ("decoder", (Linear, ReLU, Linear, Sigmoid), " (the final Sigmoid keeps every pixel in (0, 1))")):
        problem = _sequential_types(model, name, types)
        if not result.add(CheckItem(f"{name} layers", not problem, problem + end if problem else "")).passed:
            return result
    if not result.add(_layout(model, state, "encoder = Sequential(Linear(D, H), ReLU(), Linear(H, K)) and "
                              "decoder = Sequential(Linear(K, H), ReLU(), Linear(H, D), Sigmoid())")).passed:
        return result
    model.load_state_dict(state)
    x = _ae_input()
    model.eval()
    with no_grad():
        codes, error = run_student("encode", model.encode, Tensor(x))
        if error:
            result.add(error)
            return result
        if not result.add(check_shape("encode: codes (N, latent_dim)", codes, (N_AE, cfg["latent_dim"]))).passed:
            return result
        result.add(check_close("encode: codes for given weights", codes, golden["codes"], rtol=1e-4, atol=1e-5))
        decoded, error = run_student("decode", model.decode, Tensor(golden["codes"]))
        if error:
            result.add(error)
            return result
        if not result.add(check_shape("decode: images (N, in_features)", decoded, (N_AE, cfg["in_features"]))).passed:
            return result
        result.add(check_close("decode: images for given weights", decoded, golden["decoded"], rtol=1e-4, atol=1e-5))
        out, error = run_student("forward", model, Tensor(x))
        if error:
            result.add(error)
            return result
    if not result.add(check_shape("forward: reconstructions (N, in_features)", out, (N_AE, cfg["in_features"]))).passed:
        return result
    values = check_close("forward: reconstructions for given weights", out, golden["output"], rtol=1e-4, atol=1e-5)
    if _matches(out, golden["codes"]) or _matches(out, x):
        _likely(values, "forward must return decode(encode(x)), the reconstruction")
    result.add(values)
    if result.passed:
        model.train()
        result.add(check_gradients_reach_inputs(model, {"x": x}, "gradients reach the input images"))
        out = model(Tensor(x))
        result.add(check_gradients_reach_parameters(model, out, "every parameter gets a gradient"))
    return result


# ---------------------------------------------------------------------- Exercise 2
def _diagnose_reparameterize(received, mu, log_var, eps) -> str:
    if not np.all(np.isfinite(received)):
        return ("NaN: the square root of a negative log-variance. log_var is log(sigma^2), not the variance itself, "
                "so it may be negative; the standard deviation is exp(0.5 * log_var)")
    guesses = ((mu + log_var * eps, "log_var was used as the standard deviation; sigma = exp(0.5 * log_var)"),
               (mu + np.exp(log_var) * eps, "exp(log_var) is the variance sigma^2, not the standard deviation: "
                                            "use exp(0.5 * log_var)"),
               (mu + np.sqrt(np.abs(log_var)) * eps, "log_var was used as the variance (a square root of it); "
                                                     "sigma = exp(0.5 * log_var)"),
               (mu + eps, "the noise is not scaled by sigma = exp(0.5 * log_var)"),
               (mu * eps + np.exp(0.5 * log_var), "mu and sigma swapped roles: z = mu + sigma * eps"))
    for guess, hint in guesses:
        if _matches(received, guess):
            return hint
    return ""


def test_reparameterize(fn) -> CheckResult:
    """Check ``reparameterize(mu, log_var, eps)``: values, use of the given noise, and gradients to mu and log_var."""
    result = CheckResult("reparameterize")
    mu, log_var, eps, eps2 = _latent_case()
    m, lv = _t(mu, True), _t(log_var, True)
    z, error = run_student("runs on Tensors", fn, m, lv, _t(eps))
    if error:
        result.add(error)
        return result
    if not result.add(check_shape("shape (N, K)", z, LATENT)).passed:
        return result
    values = check_close("z = mu + sigma * eps", z, _golden("reparameterize/z"), rtol=1e-5, atol=1e-6)
    hint = _diagnose_reparameterize(_numpy(z), mu, log_var, eps)
    if not values.passed and not hint:
        again, error = run_student("runs twice on the same inputs", fn, _t(mu), _t(log_var), _t(eps))
        if error is None and not _matches(_numpy(again), _numpy(z)):
            hint = ("z changes from call to call with the same eps: the noise was drawn inside (np.random?) instead of "
                    "using the eps passed in; such a sample also carries no gradient back to mu and log_var")
    result.add(_likely(values, hint))
    if not values.passed:
        return result
    other, error = run_student("runs with other noise", fn, _t(mu), _t(log_var), _t(eps2))
    if error:
        result.add(error)
        return result
    result.add(check_close("uses the eps it is given", other, _golden("reparameterize/z_other_eps"), rtol=1e-5, atol=1e-6))
    if not isinstance(z, Tensor) or not z.requires_grad:
        result.add(CheckItem("gradients reach mu and log_var", False, NO_TRICK))
        return result
    try:
        z.backward(waves(LATENT, 1.9))
    except Exception as exc:  # noqa: BLE001 - a student's graph may break in many ways
        result.add(CheckItem("gradients reach mu and log_var", False, f"backward raised {type(exc).__name__}: {exc}"))
        return result
    for name, leaf in (("mu", m), ("log_var", lv)):
        if leaf.grad is None or not np.any(_numpy(leaf.grad)):
            result.add(CheckItem(f"gradient reaches {name}", False, NO_TRICK))
            return result
        result.add(check_close(f"gradient with respect to {name}", leaf.grad, _golden(f"reparameterize/grad_{name}"),
                               rtol=1e-5, atol=1e-6))
    return result


# ---------------------------------------------------------------------- Exercise 3
def _diagnose_kl(received: np.ndarray, expected: np.ndarray) -> str:
    if not np.all(np.isfinite(received)):
        return ("NaN: a logarithm of the log-variance? log_var is already log(sigma^2) and may be negative; "
                "the variance is log_var.exp()")
    guesses = ((-expected, "the sign is flipped: KL = -1/2 * sum(1 + log_var - mu^2 - exp(log_var)) is never negative"),
               (2 * expected, "the factor 1/2 is missing"),
               (-2 * expected, "the factor is wrong: it is -1/2, not -1 or +1"),
               (0.5 * expected, "the factor 1/2 is applied twice"),
               (expected / LATENT[1], "the KL is averaged over the latent axis; sum it (one value per image)"))
    for guess, hint in guesses:
        if _matches(received, guess):
            return hint
    return ""


def test_kl_divergence(fn) -> CheckResult:
    """Check ``kl_divergence(mu, log_var)``: one value per row, values, zero at the prior, and gradients."""
    result = CheckResult("kl_divergence")
    mu, log_var, _, _ = _latent_case()
    N, K = LATENT
    kl, error = run_student("runs on Tensors", fn, _t(mu), _t(log_var))
    if error:
        result.add(error)
        return result
    shape = check_shape("one value per image: shape (N,)", kl, (N,))
    if not shape.passed:
        got = tuple(getattr(kl, "shape", ()))
        elements = _golden("kl/elements")
        if got == (K,) and _matches(_numpy(kl), elements.sum(axis=0)):
            shape.message = ("likely cause: summed over the batch axis (axis 0) instead of the latent axis (axis 1). "
                             + shape.message)
        elif got == ():
            shape.message = "likely cause: the KL was reduced to one number; return one value per image (sum over axis 1 only). " + shape.message
        elif got == LATENT:
            shape.message = "likely cause: the terms are not summed over the latent axis (axis 1). " + shape.message
        result.add(shape)
        return result
    result.add(shape)
    expected = _golden("kl/values")
    values = check_close("KL values", kl, expected, rtol=1e-5, atol=1e-6)
    hint = _diagnose_kl(_numpy(kl), expected)
    if not values.passed and not hint:  # log_var used as a variance shows on positive log-variances
        probe, error = run_student("runs on positive log-variances", fn, _t(mu), _t(np.abs(log_var) + 0.5))
        if error is None and _matches(_numpy(probe), _golden("kl/variant/as_variance")):
            hint = ("log_var was used as the variance (a log of it taken, or it replaces exp(log_var)); it is already "
                    "log(sigma^2): the variance is log_var.exp()")
    result.add(_likely(values, hint))
    zero, error = run_student("runs on mu = 0, log_var = 0", fn, _t(np.zeros(LATENT, np.float32)), _t(np.zeros(LATENT, np.float32)))
    if error:
        result.add(error)
        return result
    result.add(CheckItem("zero when q is the prior N(0, 1)", _matches(_numpy(zero), np.zeros(N)),
                         "" if _matches(_numpy(zero), np.zeros(N)) else
                         "with mu = 0 and log_var = 0 the two distributions are equal, so the KL must be 0: "
                         "is the constant 1 inside the sum missing, or exp(log_var) replaced by log_var?"))
    if not values.passed:
        return result
    positive = np.abs(log_var) + 0.5
    other, error = run_student("runs on positive log-variances", fn, _t(mu), _t(positive))
    if error:
        result.add(error)
        return result
    item = check_close("KL values (positive log-variances)", other, _golden("kl/positive_log_var"), rtol=1e-5, atol=1e-6)
    result.add(item)
    if not item.passed:
        return result
    grads = check_gradients_reach_inputs(fn, {"mu": mu, "log_var": log_var}, "gradients reach mu and log_var")
    result.add(grads)
    if grads.passed:
        m, lv = _t(mu, True), _t(log_var, True)
        fn(m, lv).backward(waves((N,), 0.6))
        result.add(check_close("gradient with respect to mu", m.grad, _golden("kl/grad_mu"), rtol=1e-5, atol=1e-6))
        result.add(check_close("gradient with respect to log_var", lv.grad, _golden("kl/grad_log_var"), rtol=1e-5, atol=1e-6))
    return result


# ---------------------------------------------------------------------- Exercise 4
def _diagnose_loss(received: float) -> str:
    N, D, K = LOSS_SHAPES
    total = float(_golden("loss/value"))
    recon = float(_golden("loss/reconstruction"))
    kl = total - recon
    guesses = ((recon * N / D + kl, "the reconstruction term is summed over the batch axis (axis 0) and averaged over "
                                    "pixels; sum over the pixels of each image (axis 1), then average over images"),
               (recon / D + kl, "the reconstruction term is averaged over pixels (the default reduction=\"mean\"); sum "
                                "the binary cross-entropy over the pixels of each image (reduction=\"none\", then .sum(axis=1))"),
               (recon - kl, "the KL term is subtracted; the loss is the negative ELBO: reconstruction + KL"),
               (recon, "the KL term is missing"),
               (N * total, "the loss is summed over the batch; average it over the images (.mean())"),
               (recon + kl * K, "the KL term is counted per latent dimension"))
    for guess, hint in guesses:
        if np.isclose(received, guess, rtol=1e-4, atol=1e-5):
            return hint
    return ""


def test_vae_loss(fn) -> CheckResult:
    """Check ``vae_loss(x_hat, x, mu, log_var)``: a scalar, its value, and gradients to x_hat, mu and log_var."""
    result = CheckResult("vae_loss")
    x_hat, x, mu, log_var = _loss_case()
    leaves = [_t(x_hat, True), _t(mu, True), _t(log_var, True)]
    loss, error = run_student("runs on Tensors", fn, leaves[0], _t(x), leaves[1], leaves[2])
    if error:
        result.add(error)
        return result
    if not result.add(check_shape("a scalar (shape ())", loss, ())).passed:
        result.items[-1].message += "; average the per-image losses over the batch with .mean()"
        return result
    value = check_close("negative ELBO for fixed inputs", loss, _golden("loss/value"), rtol=1e-5, atol=1e-5)
    if not value.passed:
        _likely(value, _diagnose_loss(float(_numpy(loss))))
        value.message = earlier_exercise_failing(fn, (("Exercise 3 (kl_divergence)", test_kl_divergence, ("kl_divergence",)),),
                                                 value.message)
    result.add(value)
    if not value.passed:
        return result
    if not isinstance(loss, Tensor) or not loss.requires_grad:
        result.add(CheckItem("gradients reach x_hat, mu and log_var", False,
                             "the loss does not require grad: build it from Tensor operations"))
        return result
    try:
        loss.backward()
    except Exception as exc:  # noqa: BLE001
        result.add(CheckItem("gradients reach x_hat, mu and log_var", False, f"backward raised {type(exc).__name__}: {exc}"))
        return result
    for name, leaf in zip(("x_hat", "mu", "log_var"), leaves):
        if leaf.grad is None:
            result.add(CheckItem(f"gradient reaches {name}", False, f"no gradient reached {name}: keep the loss in Tensor operations"))
            return result
        result.add(check_close(f"gradient with respect to {name}", leaf.grad, _golden(f"loss/grad_{name}"), rtol=1e-5, atol=1e-6))
    return result


# ---------------------------------------------------------------------- Exercise 5
def test_vae(cls) -> CheckResult:
    """Check ``VAE``: layout, encode, forward with given weights and noise, fresh noise when none is given, gradients."""
    result = CheckResult("VAE")
    cfg = VAE_CONFIG
    model, error = run_student("builds", cls, **cfg)
    if error:
        result.add(error)
        return result
    golden = section(load_goldens(WEEK), "vae")
    state = section(golden, "state")
    for name, types in (("encoder", (Linear, ReLU)), ("decoder", (Linear, ReLU, Linear, Sigmoid))):
        problem = _sequential_types(model, name, types)
        if not result.add(CheckItem(f"{name} layers", not problem, problem)).passed:
            return result
    if not result.add(_layout(model, state, "encoder = Sequential(Linear(D, H), ReLU()), fc_mu and fc_log_var = Linear(H, K), "
                              "decoder = Sequential(Linear(K, H), ReLU(), Linear(H, D), Sigmoid())")).passed:
        return result
    model.load_state_dict(state)
    x, eps = _vae_inputs()
    N, K = N_VAE, cfg["latent_dim"]
    model.eval()
    with no_grad():
        encoded, error = run_student("encode", model.encode, Tensor(x))
    if error:
        result.add(error)
        return result
    if not result.add(CheckItem("encode returns (mu, log_var)", isinstance(encoded, (tuple, list)) and len(encoded) == 2,
                                f"encode should return a pair (mu, log_var), got {type(encoded).__name__}")).passed:
        return result
    mu, log_var = encoded
    swapped = _matches(_numpy(mu), golden["log_var"]) and _matches(_numpy(log_var), golden["mu"])
    for label, got in (("mu", mu), ("log_var", log_var)):
        if not result.add(check_shape(f"encode: {label} (N, latent_dim)", got, (N, K))).passed:
            return result
        item = check_close(f"encode: {label} for given weights", got, golden[label], rtol=1e-4, atol=1e-5)
        result.add(_likely(item, "fc_mu and fc_log_var are swapped: mu comes from fc_mu" if swapped else ""))
    if not result.passed:
        return result
    with no_grad():
        out, error = run_student("forward(x, eps)", model, Tensor(x), Tensor(eps))
    if error:
        result.add(error)
        return result
    if not result.add(CheckItem("forward returns (x_hat, mu, log_var)", isinstance(out, (tuple, list)) and len(out) == 3,
                                f"forward should return a tuple (x_hat, mu, log_var), got {type(out).__name__}")).passed:
        return result
    x_hat = out[0]
    if not result.add(check_shape("forward: x_hat (N, in_features)", x_hat, (N, cfg["in_features"]))).passed:
        return result
    values = check_close("forward: x_hat for given weights and noise", x_hat, golden["x_hat"], rtol=1e-4, atol=1e-5)
    if _matches(_numpy(x_hat), golden["variant/decodes_mean"]):
        _likely(values, "forward decodes mu itself; decode a sample z = reparameterize(mu, log_var, eps)")
    else:
        with no_grad():
            again = model(Tensor(x), Tensor(eps))[0]
        if not _matches(_numpy(again), _numpy(x_hat)):
            _likely(values, "forward ignores the eps it is given and draws its own noise; draw fresh noise only when eps is None")
    if not values.passed:
        values.message = earlier_exercise_failing(cls, (("Exercise 2 (reparameterize)", test_reparameterize, ("reparameterize",)),),
                                                  values.message)
    result.add(values)
    if not values.passed:
        return result
    with no_grad():
        first, error = run_student("forward(x) draws its own noise", model, Tensor(x))
        if error:
            result.add(error)
            return result
        second = model(Tensor(x))
    differ = not _matches(_numpy(first[0]), _numpy(second[0]))
    result.add(CheckItem("forward(x) draws fresh noise each call", differ,
                         "" if differ else "two calls of forward(x) without eps gave the same x_hat: when eps is None, draw "
                         "new standard-normal noise (np.random.standard_normal(mu.shape)) on every call"))
    model.train()
    x_hat, _, _ = model(Tensor(x), Tensor(eps))
    grads = check_gradients_reach_parameters(model, x_hat, "the reconstruction's gradient reaches every parameter")
    if not grads.passed and ("fc_" in grads.message or "encoder" in grads.message):
        grads.message += ". " + NO_TRICK
    result.add(grads)
    return result


__all__ = ["AE_CONFIG", "VAE_CONFIG", "golden_cases", "layer_state", "test_autoencoder", "test_kl_divergence",
           "test_reparameterize", "test_vae", "test_vae_loss", "waves"]
