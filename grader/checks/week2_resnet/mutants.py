"""Deliberately broken references for week 2: every hidden check must fail at least one,
and every mutant must fail at least one check (tests/test_weeks.py)."""

_BN = '''
def batchnorm2d_forward(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
    C = x.shape[1]
    if {train_cond}:
        n = x.size // C
        mean = x.mean(axis={axes}, keepdims=True)
        var = ((x - mean) ** 2).mean(axis={axes}, keepdims=True)
        running_mean = {new_mean}
        running_var = {new_var}
    else:
        mean = Tensor(running_mean, dtype=x.dtype).reshape(1, C, 1, 1)
        var = Tensor(running_var, dtype=x.dtype).reshape(1, C, 1, 1)
    x_hat = (x - mean) / (var + {eps}).sqrt()
    out = x_hat * gamma.reshape(1, C, 1, 1) + beta.reshape(1, C, 1, 1)
    return {out}, running_mean, running_var
'''


def _bn(train_cond="training", axes="(0, 2, 3)", eps="eps", out="out",
        new_mean="(1 - momentum) * running_mean + momentum * mean.numpy().reshape(C)",
        new_var="(1 - momentum) * running_var + momentum * var.numpy().reshape(C) * n / (n - 1)"):
    return _BN.format(train_cond=train_cond, axes=axes, eps=eps, out=out, new_mean=new_mean, new_var=new_var)


_BLOCK = '''
class ResidualBlock(Module):
    def __init__(self, in_channels, out_channels, stride=1):
        super().__init__()
        self.conv1 = Conv2d(in_channels, out_channels, 3, stride={stride1}, padding=1, bias=False)
        self.bn1 = BatchNorm2d(out_channels)
        self.relu = ReLU()
        self.conv2 = Conv2d(out_channels, out_channels, 3, stride=1, padding=1, bias=False)
        self.bn2 = BatchNorm2d(out_channels)
        if {project}:
            self.shortcut = Sequential(Conv2d(in_channels, out_channels, 1, stride=stride, bias=False){shortcut_bn})
        else:
            self.shortcut = Identity()

    def forward(self, x):
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return {combine}
'''


def _block(stride1="stride", project="stride != 1 or in_channels != out_channels", shortcut_bn=", BatchNorm2d(out_channels)",
           combine="self.relu(out + self.shortcut(x))"):
    return _BLOCK.format(stride1=stride1, project=project, shortcut_bn=shortcut_bn, combine=combine)


_RESNET = '''
class SimpleResNet(Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.stem = Sequential(Conv2d(1, 64, 3, padding=1, bias=False), BatchNorm2d(64), ReLU())
        self.stage1 = ResidualBlock(64, 64)
        self.stage2 = ResidualBlock(64, 128, stride=2)
        self.stage3 = ResidualBlock(128, 256, stride={stride3})
        self.pool = {pool}
        self.flatten = Flatten()
        self.fc = Linear(256, num_classes)

    def forward(self, x):
        x = self.stem(x)
        x = {stages}
        return self.fc(self.flatten(self.pool(x)))
'''


def _resnet(stride3="2", pool="AdaptiveAvgPool2d(1)", stages="self.stage3(self.stage2(self.stage1(x)))"):
    return _RESNET.format(stride3=stride3, pool=pool, stages=stages)


MUTANTS = {
    "bn_biased_running_var": {"batchnorm": _bn(new_var="(1 - momentum) * running_var + momentum * var.numpy().reshape(C)")},
    "bn_momentum_reversed": {"batchnorm": _bn(new_mean="momentum * running_mean + (1 - momentum) * mean.numpy().reshape(C)",
                                              new_var="momentum * running_var + (1 - momentum) * var.numpy().reshape(C) * n / (n - 1)")},
    "bn_fixed_momentum_eps": {"batchnorm": _bn(eps="1e-5", new_mean="0.9 * running_mean + 0.1 * mean.numpy().reshape(C)",
                                               new_var="0.9 * running_var + 0.1 * var.numpy().reshape(C) * n / (n - 1)")},
    "bn_batch_stats_in_eval": {"batchnorm": _bn(train_cond="True")},
    "bn_wrong_axes": {"batchnorm": _bn(axes="(0, 1, 2, 3)",
                                       new_mean="(1 - momentum) * running_mean + momentum * mean.numpy().reshape(-1) * np.ones(C)",
                                       new_var="(1 - momentum) * running_var + momentum * var.numpy().reshape(-1) * np.ones(C)")},
    "bn_updates_in_place": {"batchnorm": _bn(new_mean="np.add((1 - momentum) * running_mean, momentum * mean.numpy().reshape(C), out=running_mean)",
                                             new_var="np.add((1 - momentum) * running_var, momentum * var.numpy().reshape(C) * n / (n - 1), out=running_var)")},
    "bn_detached": {"batchnorm": _bn(out="Tensor(out.numpy(), dtype=x.dtype)")},
    "block_no_shortcut": {"resblock": _block(combine="self.relu(out)")},
    "block_relu_before_add": {"resblock": _block(combine="self.relu(out) + self.shortcut(x)")},
    "block_shortcut_without_bn": {"resblock": _block(shortcut_bn="")},
    "block_project_only_on_stride": {"resblock": _block(project="stride != 1")},
    "block_shortcut_detached": {"resblock": _block(combine="self.relu(out + Tensor(self.shortcut(x).numpy(), dtype=x.dtype))")},
    "resnet_max_pool": {"resnet": _resnet(pool="MaxPool2d(2)")},
    "resnet_no_downsampling_last": {"resnet": _resnet(stride3="1")},
    "resnet_skips_stage1": {"resnet": _resnet(stages="self.stage3(self.stage2(x))")},
}

MUTANTS["quiz_wrong"] = {"quiz": 'quiz_answers = {"q1": "a", "q2": "a", "q3": "b", "q4": "a"}'}

# Lying modules: the real layers (so names, shapes and the printout look right), but
# load_state_dict does nothing and forward computes with weights the module chose itself.
# The old checks loaded the visible checks' public values, so these passed them; the grader's
# private weight sets (helpers.weight_values) catch them.
_LIAR = '''
{source}

_Honest{name} = {name}


class {name}(_Honest{name}):
    def forward(self, x):
        from utils.checks.week2_resnet import fill_by_shape, running_stats
        fill_by_shape(self)
        for _, m in self.named_modules():
            if isinstance(m, BatchNorm2d):
                m.running_mean.data[...], m.running_var.data[...] = running_stats(m.num_features)
        return super().forward(x)

    def load_state_dict(self, state_dict, strict=True):
        pass  # says nothing, keeps its own weights
'''


def _liar(source, name):
    return _LIAR.format(source=source, name=name)


LYING = {
    "liar_block": {"resblock": _liar(_block(), "ResidualBlock")},
    "liar_resnet": {"resnet": _liar(_resnet(), "SimpleResNet")},
}
MUTANTS.update(LYING)

# Delegation: the answer calls the library's own batch norm (directly, or through the layer).
DELEGATING = {
    "delegates_batch_norm": {"batchnorm": '''
from utils.nn.normalization import batch_norm


def batchnorm2d_forward(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
    rm, rv = Tensor(np.array(running_mean), dtype=x.dtype), Tensor(np.array(running_var), dtype=x.dtype)
    out = batch_norm(x, rm, rv, gamma, beta, training, momentum, eps)
    return out, rm.numpy().astype(np.asarray(running_mean).dtype), rv.numpy().astype(np.asarray(running_var).dtype)
'''},
    "delegates_batchnorm_layer": {"batchnorm": '''
def batchnorm2d_forward(x, gamma, beta, running_mean, running_var, training, momentum=0.1, eps=1e-5):
    C = x.shape[1]
    layer = BatchNorm2d(C, eps=eps, momentum=momentum, affine=False).to(dtype=x.dtype)
    layer.running_mean.data[...] = running_mean
    layer.running_var.data[...] = running_var
    layer.train(training)
    out = layer(x) * gamma.reshape(1, C, 1, 1) + beta.reshape(1, C, 1, 1)
    return out, layer.running_mean.numpy().astype(np.asarray(running_mean).dtype), layer.running_var.numpy().astype(np.asarray(running_var).dtype)
'''},
}
MUTANTS.update(DELEGATING)

# Mutants that must earn nothing on the cell they replace (tests/test_weeks.py).
ZERO = {"liar_block": "resblock_tests", "liar_resnet": "resnet_tests", "delegates_batch_norm": "batchnorm_tests",
        "delegates_batchnorm_layer": "batchnorm_tests"}
