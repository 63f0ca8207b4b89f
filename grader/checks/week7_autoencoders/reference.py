"""References for week 7's hidden checks (instructor side, never shipped).

The visible checks in ``utils/checks/week7_autoencoders.py`` compare with goldens instead
(``python -m grader goldens``). The formulas here are written in NumPy, float64; the two
models are built from the library's own layers in the layout the notebook prescribes, and are
given the grader's weights by name, never what a student's module reports.
"""
from __future__ import annotations

import numpy as np

from utils.checks.week7_autoencoders import layer_state
from utils.nn import Linear, Module, ReLU, Sequential, Sigmoid
from utils.tensor import Tensor

__all__ = ["ReferenceAutoencoder", "ReferenceVAE", "grader_state", "kl", "negative_elbo", "reparameterized"]


def reparameterized(mu, log_var, eps) -> np.ndarray:
    """(N, K) x 3 -> (N, K): mu + exp(log_var / 2) * eps."""
    return np.asarray(mu) + np.exp(0.5 * np.asarray(log_var)) * np.asarray(eps)


def kl(mu, log_var) -> np.ndarray:
    """(N, K) x 2 -> (N,): KL(N(mu, exp(log_var)) || N(0, I)) per row."""
    mu, log_var = np.asarray(mu, dtype=np.float64), np.asarray(log_var, dtype=np.float64)
    return 0.5 * (np.exp(log_var) - 1.0 - log_var + mu ** 2).sum(axis=1)


def negative_elbo(x_hat, x, mu, log_var) -> float:
    """The batch mean of (binary cross-entropy summed over the D pixels + KL)."""
    x_hat, x = np.asarray(x_hat, dtype=np.float64), np.asarray(x, dtype=np.float64)
    bce = -(x * np.log(x_hat) + (1 - x) * np.log1p(-x_hat))  # (N, D)
    return float((bce.sum(axis=1) + kl(mu, log_var)).mean())


class ReferenceAutoencoder(Module):
    """encoder = Sequential(Linear(D, H), ReLU(), Linear(H, K)); decoder = Sequential(Linear(K, H), ReLU(), Linear(H, D), Sigmoid())."""

    def __init__(self, in_features=64, hidden=128, latent_dim=8):
        super().__init__()
        self.encoder = Sequential(Linear(in_features, hidden), ReLU(), Linear(hidden, latent_dim))
        self.decoder = Sequential(Linear(latent_dim, hidden), ReLU(), Linear(hidden, in_features), Sigmoid())

    def forward(self, x):
        return self.decoder(self.encoder(self._input(x)))  # (N, D) -> (N, K) -> (N, D)


class ReferenceVAE(Module):
    """The VAE's prescribed layout; ``forward(x, eps)`` -> (x_hat, mu, log_var) with the given noise."""

    def __init__(self, in_features=64, hidden=128, latent_dim=2):
        super().__init__()
        self.encoder = Sequential(Linear(in_features, hidden), ReLU())
        self.fc_mu = Linear(hidden, latent_dim)
        self.fc_log_var = Linear(hidden, latent_dim)
        self.decoder = Sequential(Linear(latent_dim, hidden), ReLU(), Linear(hidden, in_features), Sigmoid())

    def forward(self, x, eps):
        h = self.encoder(self._input(x))  # (N, H)
        mu, log_var = self.fc_mu(h), self.fc_log_var(h)  # (N, K) each
        z = mu + (log_var * 0.5).exp() * Tensor(np.asarray(eps), dtype=mu.dtype)  # (N, K)
        return self.decoder(z), mu, log_var


def grader_state(model: Module, phase: float, dtype=np.float64) -> dict:
    """Weights only the grader knows: the visible checks' public values (``layer_state``) scaled entry
    by entry by 1 + 0.4 sin(phase + 0.91 k), one set per ``phase``."""
    out = {}
    for name, value in layer_state(model, np.float64).items():
        factor = 1.0 + 0.4 * np.sin(phase + 0.91 * np.arange(value.size)).reshape(value.shape)
        out[name] = (value * factor).astype(dtype)
    return out
