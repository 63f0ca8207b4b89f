"""Week 1 visible checks: they pass on the reference answers and fail, with the right message, on broken ones."""
import numpy as np
import pytest

from utils.checks.week1_alexnet import test_alexnet_architecture as check_alexnet
from utils.checks.week1_alexnet import test_conv2d_naive as check_conv2d_naive
from utils.checks.week1_alexnet import test_conv_output_size as check_conv_output_size
from utils.checks.week1_alexnet import test_mini_alexnet as check_mini_alexnet
from utils.nn import (BatchNorm2d, Conv2d, Dropout, Flatten, Linear, MaxPool2d, Module, ReLU, Sequential)


def messages(result):
    return " ".join(item.message for item in result.failed_items)


# ---------------------------------------------------------------------- conv_output_size
def size_ok(size, kernel_size, stride=1, padding=0):
    return (size + 2 * padding - kernel_size) // stride + 1


def test_conv_output_size_passes():
    assert check_conv_output_size(size_ok).passed


@pytest.mark.parametrize("broken, words", [
    (lambda n, k, s=1, p=0: (n + 2 * p - k) / s + 1, "floor division"),
    (lambda n, k, s=1, p=0: (n + p - k) // s + 1, "2 * padding"),
    (lambda n, k, s=1, p=0: (n + 2 * p - k) // s, "+ 1 is missing"),
    (lambda n, k, s=1, p=0: -(-(n + 2 * p - k) // s) + 1, "rounded up"),
])
def test_conv_output_size_names_mistakes(broken, words):
    result = check_conv_output_size(broken)
    assert not result.passed and words in messages(result)


def test_conv_output_size_stub():
    def stub(size, kernel_size, stride=1, padding=0):
        raise NotImplementedError()
    result = check_conv_output_size(stub)
    assert not result.passed and "not implemented yet" in messages(result)


# ---------------------------------------------------------------------- conv2d_naive
def naive(x, weight, bias, stride=1, padding=0, flip=False, use_bias=True, step=True):
    n, c, h, w = x.shape
    o, _, kh, kw = weight.shape
    ho, wo = size_ok(h, kh, stride, padding), size_ok(w, kw, stride, padding)
    xp = np.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    wt = weight[:, :, ::-1, ::-1] if flip else weight
    out = np.zeros((n, o, ho, wo), dtype=x.dtype)
    s = stride if step else 1
    for i in range(ho):
        for j in range(wo):
            patch = xp[:, :, i * s:i * s + kh, j * s:j * s + kw]
            out[:, :, i, j] = np.einsum("nchw,ochw->no", patch, wt) + (bias if use_bias else 0)
    return out


def test_conv2d_naive_passes():
    assert check_conv2d_naive(naive).passed


@pytest.mark.parametrize("kwargs, words", [
    ({"flip": True}, "flipped"),
    ({"use_bias": False}, "bias"),
    ({"step": False}, "moved by 1"),
])
def test_conv2d_naive_names_mistakes(kwargs, words):
    result = check_conv2d_naive(lambda *a: naive(*a, **kwargs))
    assert not result.passed and words in messages(result)


def test_conv2d_naive_wrong_shape():
    result = check_conv2d_naive(lambda x, w, b, s=1, p=0: naive(x, w, b, s, p).transpose(0, 1, 3, 2))
    assert not result.passed and "output shape" in " ".join(i.name for i in result.failed_items)


# ---------------------------------------------------------------------- AlexNet
def make_alexnet(p=0.5, pool=(3, 2), relu_after_conv3=True, swap=False):
    class AlexNet(Module):
        def __init__(self, num_classes=10):
            super().__init__()
            conv3 = [Conv2d(256, 384, 3, padding=1)] + ([ReLU()] if relu_after_conv3 else [])
            self.features = Sequential(
                Conv2d(3, 96, 11, stride=4, padding=2), ReLU(), MaxPool2d(*pool),
                Conv2d(96, 256, 5, padding=2), ReLU(), MaxPool2d(*pool),
                *conv3, Conv2d(384, 384, 3, padding=1), ReLU(),
                Conv2d(384, 256, 3, padding=1), ReLU(), MaxPool2d(*pool))
            head = [Linear(9216, 4096), ReLU(), Dropout(p)] if not swap else [Linear(9216, 4096), Dropout(p), ReLU()]
            self.classifier = Sequential(Flatten(), *head, Linear(4096, 4096), ReLU(), Dropout(p), Linear(4096, num_classes))

        def forward(self, x):
            return self.classifier(self.features(x))
    return AlexNet


def test_alexnet_passes():
    result = check_alexnet(make_alexnet())
    assert result.passed, result.to_text()


@pytest.mark.parametrize("kwargs, words", [
    ({"relu_after_conv3": False}, "layer 8 is Conv2d, expected ReLU"),
    ({"swap": True}, "layer 15 is Dropout, expected ReLU"),
    ({"pool": (2, 2)}, "MaxPool2d(3, 2)"),
    ({"p": 0.2}, "expected 0.5"),
])
def test_alexnet_names_mistakes(kwargs, words):
    result = check_alexnet(make_alexnet(**kwargs))
    assert not result.passed and words in messages(result), result.to_text()


def test_alexnet_dropout_left_on():
    class AlwaysDropout(Dropout):
        def forward(self, x):
            self.training = True
            return super().forward(x)

    base = make_alexnet()

    class Leaky(base):
        def __init__(self, num_classes=10):
            super().__init__(num_classes)
            self.classifier = Sequential(Flatten(), Linear(9216, 4096), ReLU(), AlwaysDropout(0.5), Linear(4096, 4096),
                                         ReLU(), AlwaysDropout(0.5), Linear(4096, num_classes))
    result = check_alexnet(Leaky)
    assert not result.passed and "dropout must be the identity in eval mode" in messages(result)


def test_alexnet_stub():
    class AlexNet(Module):
        def __init__(self, num_classes=10):
            super().__init__()
            raise NotImplementedError()
    result = check_alexnet(AlexNet)
    assert not result.passed and "not implemented yet" in messages(result)


# ---------------------------------------------------------------------- MiniAlexNet
def make_mini(classes=None, dropout=True):
    class MiniAlexNet(Module):
        def __init__(self, num_classes=10):
            super().__init__()
            self.features = Sequential(Conv2d(1, 8, 5, padding=2), BatchNorm2d(8), ReLU(), MaxPool2d(3, 2),
                                       Conv2d(8, 8, 3, padding=1), ReLU(), MaxPool2d(3, 2),
                                       Conv2d(8, 8, 3, padding=1), ReLU(), MaxPool2d(3, 2))
            self.classifier = Sequential(Flatten(), Linear(72, 16), ReLU(), *([Dropout(0.3)] if dropout else []),
                                         Linear(16, classes or num_classes))

        def forward(self, x):
            return self.classifier(self.features(x))
    return MiniAlexNet


def test_mini_passes():
    assert check_mini_alexnet(make_mini()).passed


def test_mini_names_mistakes():
    assert "the classifier needs Dropout" in messages(check_mini_alexnet(make_mini(dropout=False)))
    assert "differs from the expected" in messages(check_mini_alexnet(make_mini(classes=7)))
