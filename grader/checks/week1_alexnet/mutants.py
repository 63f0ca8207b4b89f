"""Deliberately broken references for week 1: every hidden check must fail at least one,
and every mutant must fail at least one check (tests/test_weeks.py)."""

_CONV_SIZE = '''
def conv_output_size(size, kernel_size, stride=1, padding=0):
    return {body}
'''

_CONV_NAIVE = '''
def conv2d_naive(x, weight, bias, stride=1, padding=0):
    n, c, h, w = x.shape
    o, _, kh, kw = weight.shape
    ho, wo = conv_output_size(h, kh, stride, padding), conv_output_size(w, kw, stride, padding)
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    out = np.zeros((n, o, ho, wo), dtype={dtype})
    for i in range(ho):
        for j in range(wo):
            patch = xp[:, :, {row}:{row} + kh, {col}:{col} + kw]
            out[:, :, i, j] = np.einsum("nchw,ochw->no", patch, {weight}){bias}
    return out
'''

_ALEXNET = '''
class AlexNet(Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.features = Sequential(
            Conv2d(3, 96, 11, stride=4, padding=2), ReLU(), {pool},
            Conv2d(96, 256, 5, padding=2), ReLU(), {pool},
            Conv2d(256, 384, 3, padding=1), ReLU(),
            Conv2d(384, 384, 3, padding=1), ReLU(),
            Conv2d(384, 256, 3, padding=1), ReLU(), {pool},
        )
        self.classifier = Sequential(
            Flatten(),
            Linear(256 * 6 * 6, 4096), ReLU(), Dropout({p}),
            Linear(4096, 4096), ReLU(), Dropout({p}),
            Linear(4096, {classes}),
        )

    def forward(self, x):
        return {forward}
'''

_MINI = '''
class MiniAlexNet(Module):
    def __init__(self, num_classes=10):
        super().__init__()
        def block(c_in, c_out, k, p):
            return [Conv2d(c_in, c_out, k, padding=p), BatchNorm2d(c_out), ReLU()]

        self.features = Sequential(
            *block(1, 16, 5, 2), MaxPool2d(3, 2),
            *block(16, 32, 3, 1), MaxPool2d(3, 2),
            {middle}MaxPool2d(3, 2),
        )
        self.classifier = Sequential(
            Flatten(), Linear(32 * 3 * 3, {width}), ReLU(), {drop}
            Linear({width}, 128), ReLU(), {drop} Linear(128, {classes}),
        )

    def forward(self, x):
        return {forward}
'''


def _conv_naive(dtype="x.dtype", row="i * stride", col="j * stride", weight="weight", bias=" + bias"):
    return _CONV_NAIVE.format(dtype=dtype, row=row, col=col, weight=weight, bias=bias)


def _alexnet(pool="MaxPool2d(3, 2)", p="0.5", classes="num_classes", forward="self.classifier(self.features(x))"):
    return _ALEXNET.format(pool=pool, p=p, classes=classes, forward=forward)


def _mini(classes="num_classes", forward="self.classifier(self.features(x))", width="128", drop="Dropout(0.3),",
          middle="*block(32, 48, 3, 1), *block(48, 48, 3, 1), *block(48, 32, 3, 1), "):
    return _MINI.format(classes=classes, forward=forward, width=width, drop=drop, middle=middle)


MUTANTS = {
    "size_true_division": {"conv_size": _CONV_SIZE.format(body="(size + 2 * padding - kernel_size) / stride + 1")},
    "size_rounds_up": {"conv_size": _CONV_SIZE.format(body="-(-(size + 2 * padding - kernel_size) // stride) + 1")},
    "size_ignores_defaults": {"conv_size": _CONV_SIZE.format(body="(size + 2 * padding - kernel_size) // max(stride, 2) + 1")},
    "naive_flipped_kernel": {"conv_naive": _conv_naive(weight="weight[:, :, ::-1, ::-1]")},
    "naive_no_bias": {"conv_naive": _conv_naive(bias="")},
    "naive_stride_ignored": {"conv_naive": _conv_naive(row="i", col="j")},
    "naive_float32": {"conv_naive": _conv_naive(dtype="np.float32")},
    "alexnet_fixed_classes": {"alexnet": _alexnet(classes="10")},
    "alexnet_float32_output": {"alexnet": _alexnet(forward="Tensor(self.classifier(self.features(x)).numpy().astype(np.float32))")},
    "alexnet_no_dropout": {"alexnet": _alexnet(p="0.0")},
    "alexnet_pools_2x2": {"alexnet": _alexnet(pool="MaxPool2d(2, 2)")},  # the same shapes, but AlexNet's pools overlap
    "alexnet_no_third_relu": {"alexnet": _alexnet().replace("padding=1), ReLU(),\n            Conv2d(384, 384", "padding=1),\n            Conv2d(384, 384")},
    "mini_fixed_classes": {"mini_alexnet": _mini(classes="10")},
    "mini_detached": {"mini_alexnet": _mini(forward="Tensor(self.classifier(self.features(x)).numpy(), dtype=x.dtype)")},
    "mini_no_dropout": {"mini_alexnet": _mini(drop="")},
    "mini_two_convolutions": {"mini_alexnet": _mini(middle="")},
    "mini_too_large": {"mini_alexnet": _mini(width="8000")},  # 288*8000 + 8000*128 weights: over 3 million
    "quiz_wrong": {"quiz": 'quiz_answers = {"q1": "a", "q2": "b", "q3": "b", "q4": "a"}\n'},
}

# Lying module (the example): AlexNet's layers are built, so the printout and the
# parameter shapes are AlexNet's, but forward is a mean over the pixels, dropout and one
# linear map made of a slice of the last Linear's weight. The old checks read the printout
# and the shapes and gave it 3/3; the grader's weights expose it.
LYING = {
    "liar_mean_pool_alexnet": {"alexnet": _alexnet(forward="self._cheap(x)") + '''
    def _cheap(self, x):
        from utils.nn import dropout
        pooled = x.mean(axis=(2, 3))  # (N, 3)
        last = self.classifier[len(self.classifier) - 1]
        spread = pooled @ last.weight[:, :3].T  # (N, K): one linear map of the mean colour
        return dropout(spread, 0.5, self.training) + last.bias  # (N, K)
'''},
    "alexnet_dropout_p03": {"alexnet": _alexnet(p="0.3")},
    "liar_mini_keeps_weights": {"mini_alexnet": _mini() + '''
    def load_state_dict(self, state_dict, strict=True):
        pass  # keeps the weights it was born with
'''},
}

# Delegation: the library's size formula and its convolution (function or layer).
DELEGATING = {
    "delegates_output_size": {"conv_size": '''
from utils.nn.conv import output_size


def conv_output_size(size, kernel_size, stride=1, padding=0):
    return output_size(size, kernel_size, stride, padding)
'''},
    "delegates_conv2d": {"conv_naive": '''
def conv2d_naive(x, weight, bias, stride=1, padding=0):
    with no_grad():
        out = conv2d(Tensor(x, dtype=x.dtype), Tensor(weight, dtype=x.dtype), Tensor(bias, dtype=x.dtype), stride=stride, padding=padding)
    return out.numpy()
'''},
    "delegates_conv_layer": {"conv_naive": '''
def conv2d_naive(x, weight, bias, stride=1, padding=0):
    layer = Conv2d(weight.shape[1], weight.shape[0], weight.shape[2:], stride=stride, padding=padding).to(dtype=x.dtype)
    layer.load_state_dict({"weight": weight, "bias": bias})
    with no_grad():
        return layer(Tensor(x, dtype=x.dtype)).numpy()
'''},
}
MUTANTS.update(LYING)
MUTANTS.update(DELEGATING)

# Mutants that must earn nothing on the cell they replace (tests/test_weeks.py).
ZERO = {"liar_mean_pool_alexnet": "alexnet_tests", "delegates_output_size": "conv_size_tests",
        "delegates_conv2d": "conv_naive_tests", "delegates_conv_layer": "conv_naive_tests"}
