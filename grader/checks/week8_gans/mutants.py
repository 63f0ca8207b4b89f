"""Deliberately broken references for week 8: every hidden check must fail at least one,
and every mutant must fail at least one check (tests/test_weeks.py)."""

_GENERATOR = '''
class Generator(Module):
    def __init__(self, latent_dim=2, hidden_dim=64, data_dim=2, tanh_output=False):
        super().__init__()
        self.tanh_output = tanh_output
        self.net = Sequential(Linear(latent_dim, hidden_dim), {act}, Linear(hidden_dim, hidden_dim), {act},
                              Linear(hidden_dim, data_dim))

    def forward(self, z):
        x = self.net(self._input(z))
        return {result}
'''


def _generator(act="ReLU()", result="x.tanh() if self.tanh_output else x"):
    return _GENERATOR.format(act=act, result=result)


_DISCRIMINATOR = '''
class Discriminator(Module):
    def __init__(self, data_dim=2, hidden_dim=64):
        super().__init__()
        self.net = Sequential(Linear(data_dim, hidden_dim), {act}, Linear(hidden_dim, hidden_dim), {act},
                              Linear(hidden_dim, 1))

    def forward(self, x):
        x = self._input(x)
        {flatten}
        return {result}
'''


def _discriminator(act="LeakyReLU(0.2)", flatten="x = x.reshape(x.shape[0], -1)", result="self.net(x).reshape(x.shape[0])"):
    return _DISCRIMINATOR.format(act=act, flatten=flatten, result=result)


_D_LOSS = '''
def discriminator_loss(real_logits, fake_logits):
    ones = np.ones(real_logits.shape, dtype=real_logits.dtype)
    zeros = np.zeros(fake_logits.shape, dtype=fake_logits.dtype)
    return {body}
'''
_BCE_REAL = "binary_cross_entropy_with_logits(real_logits, ones)"
_BCE_FAKE = "binary_cross_entropy_with_logits(fake_logits, zeros)"


def _d_loss(body=f"{_BCE_REAL} + {_BCE_FAKE}"):
    return _D_LOSS.format(body=body)


_G_LOSS = '''
def generator_loss(fake_logits):
    ones = np.ones(fake_logits.shape, dtype=fake_logits.dtype)
    zeros = np.zeros(fake_logits.shape, dtype=fake_logits.dtype)
    return {body}
'''


def _g_loss(body):
    return _G_LOSS.format(body=body)


_STEP = '''
def train_step(G, D, opt_g, opt_d, real, z, g_loss_fn=None):
    if g_loss_fn is None:
        g_loss_fn = generator_loss
{body}
    return d_loss.item(), g_loss.item()
'''

_RIGHT = '''
    fake = G(z)
    d_loss = discriminator_loss(D(real), D(fake.detach()))
    opt_d.zero_grad()
    d_loss.backward()
    opt_d.step()
    g_loss = g_loss_fn(D(fake))
    opt_g.zero_grad()
    g_loss.backward()
    opt_g.step()
'''


def _step(*replace):
    body = _RIGHT
    for old, new in zip(replace[::2], replace[1::2]):
        assert old in body, old
        body = body.replace(old, new)
    return _STEP.format(body=body.rstrip("\n"))


MUTANTS = {
    # Exercise 1
    "gen_leaky_relu": {"generator": _generator(act="LeakyReLU(0.2)")},
    "gen_tanh_always": {"generator": _generator(result="x.tanh()")},
    "gen_tanh_ignored": {"generator": _generator(result="x")},
    "gen_detached": {"generator": _generator(result="Tensor((x.tanh() if self.tanh_output else x).numpy(), dtype=x.dtype)")},
    # Exercise 2
    "disc_relu": {"discriminator": _discriminator(act="ReLU()")},
    "disc_sigmoid": {"discriminator": _discriminator(result="self.net(x).reshape(x.shape[0]).sigmoid()")},
    "disc_keeps_last_axis": {"discriminator": _discriminator(result="self.net(x)")},
    "disc_no_flatten": {"discriminator": _discriminator(flatten="pass")},
    # Exercise 3
    "d_loss_swapped_labels": {"d_loss": _d_loss(body="binary_cross_entropy_with_logits(real_logits, np.zeros(real_logits.shape, "
                                                    "dtype=real_logits.dtype)) + binary_cross_entropy_with_logits(fake_logits, "
                                                    "np.ones(fake_logits.shape, dtype=fake_logits.dtype))")},
    "d_loss_averaged": {"d_loss": _d_loss(body=f"({_BCE_REAL} + {_BCE_FAKE}) * 0.5")},
    "d_loss_log_sigmoid": {"d_loss": _d_loss(body="-(real_logits.sigmoid().log().mean()) - (1 - fake_logits.sigmoid()).log().mean()")},
    "d_loss_real_only": {"d_loss": _d_loss(body=_BCE_REAL)},
    # Exercise 4
    "g_loss_saturating": {"g_loss": _g_loss("-binary_cross_entropy_with_logits(fake_logits, zeros)")},
    "g_loss_negated": {"g_loss": _g_loss("-binary_cross_entropy_with_logits(fake_logits, ones)")},
    "g_loss_fakes_labelled_fake": {"g_loss": _g_loss("binary_cross_entropy_with_logits(fake_logits, zeros)")},
    "g_loss_log_sigmoid": {"g_loss": _g_loss("-(fake_logits.sigmoid().log().mean())")},
    # Exercise 5
    "step_no_detach": {"train_step": _step("D(fake.detach())", "D(fake)")},
    "step_no_detach_zero_first": {"train_step": _step(
        "    fake = G(z)\n", "    opt_d.zero_grad()\n    opt_g.zero_grad()\n    fake = G(z)\n",
        "D(fake.detach())", "D(fake)", "    opt_g.zero_grad()\n    g_loss.backward()", "    g_loss.backward()")},
    "step_swapped_labels": {"train_step": _step("discriminator_loss(D(real), D(fake.detach()))",
                                                "discriminator_loss(D(fake.detach()), D(real))")},
    "step_saturating": {"train_step": _step(
        "g_loss_fn(D(fake))", "-binary_cross_entropy_with_logits(D(fake), np.zeros(z.shape[0], dtype=z.dtype))")},
    "step_one_optimizer": {"train_step": _step("    opt_g.zero_grad()\n    g_loss.backward()\n    opt_g.step()",
                                               "    opt_d.zero_grad()\n    g_loss.backward()\n    opt_d.step()")},
    "step_one_backward": {"train_step": _STEP.format(body='''
    fake = G(z)
    d_loss = discriminator_loss(D(real), D(fake.detach()))
    g_loss = g_loss_fn(D(fake))
    opt_d.zero_grad()
    opt_g.zero_grad()
    (d_loss + g_loss).backward()
    opt_d.step()
    opt_g.step()''')},
    "step_stale_discriminator": {"train_step": _STEP.format(body='''
    fake = G(z)
    d_loss = discriminator_loss(D(real), D(fake.detach()))
    g_loss = g_loss_fn(D(fake))
    opt_d.zero_grad()
    d_loss.backward()
    opt_d.step()
    opt_g.zero_grad()
    g_loss.backward()
    opt_g.step()''')},
    "step_generator_first": {"train_step": _STEP.format(body='''
    fake = G(z)
    g_loss = g_loss_fn(D(fake))
    opt_g.zero_grad()
    g_loss.backward()
    opt_g.step()
    d_loss = discriminator_loss(D(real), D(G(z).detach()))
    opt_d.zero_grad()
    d_loss.backward()
    opt_d.step()''')},
    "step_no_zero_grad": {"train_step": _step("    opt_d.zero_grad()\n", "")},
    "step_ignores_g_loss_fn": {"train_step": _step("g_loss_fn(D(fake))", "generator_loss(D(fake))")},
    "step_returns_swapped": {"train_step": _step("    opt_g.step()\n", "    opt_g.step()\n    d_loss, g_loss = g_loss, d_loss\n")},
    # Quiz
    "quiz_all_wrong": {"quiz": 'quiz_answers = {"q1": "b", "q2": "a", "q3": "a", "q4": "a"}'},
}

# Lying module: the layout the docstring asks for, but load_state_dict puts in the visible
# check's public weights (utils.checks.week8_gans.layer_state, phase 0.4) whatever it is given.
LYING = {
    "liar_generator_public_weights": {"generator": _generator() + '''

_HonestGenerator = Generator


class Generator(_HonestGenerator):
    def load_state_dict(self, state_dict, strict=True):
        from utils.checks.week8_gans import layer_state
        dtype = next(iter(state_dict.values())).dtype
        _HonestGenerator.load_state_dict(self, layer_state(self, 0.4, dtype), strict)
'''},
}

# No delegating answers: nothing in utils implements a generator, a discriminator, the GAN
# losses or a GAN step (binary_cross_entropy_with_logits is a tool the exercises name).
DELEGATING: dict = {}
MUTANTS.update(LYING)

# Mutants that must earn nothing on the cell they replace (tests/test_weeks.py).
ZERO = {"liar_generator_public_weights": "generator_tests"}
