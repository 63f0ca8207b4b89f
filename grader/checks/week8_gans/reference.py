"""Reference answers for week 8's hidden checks (instructor side, never shipped).

The visible checks in ``utils/checks/week8_gans.py`` compare with goldens instead
(``python -m grader goldens``).
"""
from __future__ import annotations

import numpy as np

from utils.losses import binary_cross_entropy_with_logits
from utils.nn import LeakyReLU, Linear, Module, ReLU, Sequential

__all__ = ["ReferenceDiscriminator", "ReferenceGenerator", "discriminator_loss", "generator_loss", "grader_state",
           "saturating_generator_loss", "train_step"]


class ReferenceGenerator(Module):
    """Linear, ReLU, Linear, ReLU, Linear (+ tanh): (N, L) -> (N, X)."""

    def __init__(self, latent_dim=2, hidden_dim=64, data_dim=2, tanh_output=False):
        super().__init__()
        self.tanh_output = tanh_output
        self.net = Sequential(Linear(latent_dim, hidden_dim), ReLU(), Linear(hidden_dim, hidden_dim), ReLU(),
                              Linear(hidden_dim, data_dim))

    def forward(self, z):
        x = self.net(self._input(z))
        return x.tanh() if self.tanh_output else x


class ReferenceDiscriminator(Module):
    """Linear, LeakyReLU(0.2), Linear, LeakyReLU(0.2), Linear: (N, *) -> (N,) logits."""

    def __init__(self, data_dim=2, hidden_dim=64):
        super().__init__()
        self.net = Sequential(Linear(data_dim, hidden_dim), LeakyReLU(0.2), Linear(hidden_dim, hidden_dim), LeakyReLU(0.2),
                              Linear(hidden_dim, 1))

    def forward(self, x):
        x = self._input(x)
        x = x.reshape(x.shape[0], -1)
        return self.net(x).reshape(x.shape[0])


def _targets(logits, value):
    return np.full(logits.shape, value, dtype=logits.dtype)


def discriminator_loss(real_logits, fake_logits):
    return (binary_cross_entropy_with_logits(real_logits, _targets(real_logits, 1.0))
            + binary_cross_entropy_with_logits(fake_logits, _targets(fake_logits, 0.0)))


def generator_loss(fake_logits):
    return binary_cross_entropy_with_logits(fake_logits, _targets(fake_logits, 1.0))


def saturating_generator_loss(fake_logits):
    return -binary_cross_entropy_with_logits(fake_logits, _targets(fake_logits, 0.0))


def train_step(G, D, opt_g, opt_d, real, z, g_loss_fn=None):
    g_loss_fn = generator_loss if g_loss_fn is None else g_loss_fn
    fake = G(z)
    d_loss = discriminator_loss(D(real), D(fake.detach()))
    opt_d.zero_grad()
    d_loss.backward()
    opt_d.step()
    g_loss = g_loss_fn(D(fake))
    opt_g.zero_grad()
    g_loss.backward()
    opt_g.step()
    return d_loss.item(), g_loss.item()


def grader_state(model: Module, phase: float, dtype=np.float64) -> dict:
    """The grader's own weights for ``model``'s state dict (not the visible checks' values)."""
    state = {}
    for i, (name, value) in enumerate(model.state_dict().items()):
        shape = tuple(value.shape)
        n = int(np.prod(shape))
        fan_in = shape[1] if len(shape) == 2 else 1
        values = np.cos(np.arange(n) * 0.53 + phase + 0.41 * i) * 0.9 + np.sin(np.arange(n) * 0.23 - phase) * 0.5
        state[name] = (values.reshape(shape) * 1.3 / np.sqrt(fan_in)).astype(dtype)
    return state
