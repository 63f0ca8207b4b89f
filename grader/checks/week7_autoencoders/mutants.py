"""Deliberately broken references for week 7: every hidden check must fail at least one,
and every mutant must fail at least one check (tests/test_weeks.py)."""

_AE = '''
class Autoencoder(Module):
    def __init__(self, in_features=64, hidden=128, latent_dim=8):
        super().__init__()
        self.encoder = Sequential({encoder})
        self.decoder = Sequential({decoder})

    def encode(self, x):
        return {encode}

    def decode(self, z):
        return self.decoder(self._input(z))

    def forward(self, x):
        return {forward}
'''
_ENCODER = "Linear(in_features, hidden), ReLU(), Linear(hidden, latent_dim)"
_DECODER = "Linear(latent_dim, hidden), ReLU(), Linear(hidden, in_features), Sigmoid()"


def _ae(encoder=_ENCODER, decoder=_DECODER, encode="self.encoder(self._input(x))", forward="self.decode(self.encode(x))"):
    return _AE.format(encoder=encoder, decoder=decoder, encode=encode, forward=forward)


def _reparameterize(body):
    return f'''
def reparameterize(mu, log_var, eps):
    return {body}
'''


def _kl(body):
    return f'''
def kl_divergence(mu, log_var):
    return {body}
'''


def _loss(reconstruction="binary_cross_entropy(x_hat, x, reduction='none').sum(axis=1)",
          total="(reconstruction + kl_divergence(mu, log_var)).mean()"):
    return f'''
def vae_loss(x_hat, x, mu, log_var):
    reconstruction = {reconstruction}
    return {total}
'''


_VAE = '''
class VAE(Module):
    def __init__(self, in_features=64, hidden=128, latent_dim=2):
        super().__init__()
        self.encoder = Sequential(Linear(in_features, hidden), ReLU())
        self.fc_mu = Linear(hidden, latent_dim)
        self.fc_log_var = Linear(hidden, latent_dim)
        self.decoder = Sequential(Linear(latent_dim, hidden), ReLU(), Linear(hidden, in_features), Sigmoid())

    def encode(self, x):
        h = self.encoder(self._input(x))
        return {heads}

    def decode(self, z):
        return self.decoder(self._input(z))

    def forward(self, x, eps=None):
        mu, log_var = self.encode(x)
        if {draw}:
            eps = Tensor({noise}, dtype=mu.dtype, device=mu.device)
        z = {z}
        return self.decode(z), mu, log_var
'''


def _vae(heads="self.fc_mu(h), self.fc_log_var(h)", draw="eps is None", noise="np.random.standard_normal(mu.shape)",
         z="reparameterize(mu, log_var, eps)"):
    return _VAE.format(heads=heads, draw=draw, noise=noise, z=z)


_KL_TERMS = "(1 + log_var - mu * mu - log_var.exp())"

MUTANTS = {
    # Exercise 1
    "ae_no_sigmoid": {"autoencoder": _ae(decoder="Linear(latent_dim, hidden), ReLU(), Linear(hidden, in_features)")},
    "ae_no_relu": {"autoencoder": _ae(encoder="Linear(in_features, hidden), Linear(hidden, latent_dim)")},
    "ae_code_too_wide": {"autoencoder": _ae(encoder="Linear(in_features, hidden), ReLU(), Linear(hidden, hidden)",
                                            decoder="Linear(hidden, hidden), ReLU(), Linear(hidden, in_features), Sigmoid()")},
    "ae_forward_returns_codes": {"autoencoder": _ae(forward="self.encode(x)")},
    "ae_detached_codes": {"autoencoder": _ae(encode="Tensor(self.encoder(self._input(x)).numpy(), dtype=self.dtype)")},
    # Exercise 2
    "reparam_no_trick": {"reparameterize": _reparameterize("Tensor((mu + (0.5 * log_var).exp() * eps).numpy(), dtype=mu.dtype)")},
    "reparam_numpy_sampler": {"reparameterize": _reparameterize(
        "Tensor(np.random.normal(mu.numpy(), np.exp(0.5 * log_var.numpy())), dtype=mu.dtype)")},
    "reparam_log_var_as_variance": {"reparameterize": _reparameterize("mu + log_var.abs().sqrt() * eps")},
    "reparam_variance_as_std": {"reparameterize": _reparameterize("mu + log_var.exp() * eps")},
    "reparam_log_var_as_std": {"reparameterize": _reparameterize("mu + log_var * eps")},
    # Exercise 3
    "kl_sign_flipped": {"kl": _kl(f"0.5 * {_KL_TERMS}.sum(axis=1)")},
    "kl_no_half": {"kl": _kl(f"-{_KL_TERMS}.sum(axis=1)")},
    "kl_batch_axis": {"kl": _kl(f"-0.5 * {_KL_TERMS}.sum(axis=0)")},
    "kl_mean_over_latent": {"kl": _kl(f"-0.5 * {_KL_TERMS}.mean(axis=1)")},
    "kl_log_var_as_variance": {"kl": _kl("-0.5 * (1 + log_var.abs().log() - mu * mu - log_var).sum(axis=1)")},
    "kl_one_number": {"kl": _kl(f"-0.5 * {_KL_TERMS}.sum()")},
    # Exercise 4
    "loss_mean_over_pixels": {"vae_loss": _loss(reconstruction="binary_cross_entropy(x_hat, x)")},
    "loss_wrong_axis": {"vae_loss": _loss(reconstruction="binary_cross_entropy(x_hat, x, reduction='none').sum(axis=0).mean()")},
    "loss_kl_subtracted": {"vae_loss": _loss(total="(reconstruction - kl_divergence(mu, log_var)).mean()")},
    "loss_no_kl": {"vae_loss": _loss(total="reconstruction.mean()")},
    "loss_summed_over_batch": {"vae_loss": _loss(total="(reconstruction + kl_divergence(mu, log_var)).sum()")},
    # Exercise 5
    "vae_swapped_heads": {"vae": _vae(heads="self.fc_log_var(h), self.fc_mu(h)")},
    "vae_decodes_mean": {"vae": _vae(z="mu")},
    "vae_ignores_eps": {"vae": _vae(draw="True")},
    "vae_no_fresh_noise": {"vae": _vae(noise="np.zeros(mu.shape)")},
    "vae_detached_sample": {"vae": _vae(z="Tensor(reparameterize(mu, log_var, eps).numpy(), dtype=mu.dtype)")},
    # Quiz
    "quiz_all_wrong": {"quiz": 'quiz_answers = {"q1": "b", "q2": "a", "q3": "c", "q4": "c"}'},
}

# Lying modules: the layout the docstring asks for, but load_state_dict puts in the visible checks'
# public weights (utils.checks.week7_autoencoders.layer_state) instead of the ones it is given.
_LIAR = '''

_Honest{name} = {name}


class {name}(_Honest{name}):
    def load_state_dict(self, state_dict, strict=True):
        from utils.checks.week7_autoencoders import layer_state
        _Honest{name}.load_state_dict(self, layer_state(self, self.dtype), strict)
'''
LYING = {
    "liar_ae_public_weights": {"autoencoder": _ae() + _LIAR.format(name="Autoencoder")},
    "liar_vae_public_weights": {"vae": _vae() + _LIAR.format(name="VAE")},
}
MUTANTS.update(LYING)

# No exercise of this week has a counterpart in utils (nothing to delegate to).
DELEGATING: dict = {}

# Mutants that must earn nothing on the cell they replace (tests/test_weeks.py).
ZERO = {"liar_ae_public_weights": "autoencoder_tests", "liar_vae_public_weights": "vae_tests"}
