"""The week-2 visible checks pass on the reference answers and fail, naming the mistake, on broken ones."""
import numpy as np
import pytest

from utils import Tensor
from utils.checks import week2_resnet as checks
from utils.nn import AdaptiveAvgPool2d, BatchNorm2d, Conv2d, Flatten, Identity, Linear, MaxPool2d, Module, ReLU, Sequential

from grader.checks.week2_resnet.mutants import MUTANTS

SOLUTION_NAMESPACE = {"np": np, "Tensor": Tensor, "Module": Module, "Conv2d": Conv2d, "BatchNorm2d": BatchNorm2d,
                      "ReLU": ReLU, "Sequential": Sequential, "Identity": Identity, "Linear": Linear,
                      "AdaptiveAvgPool2d": AdaptiveAvgPool2d, "Flatten": Flatten, "MaxPool2d": MaxPool2d}


def build(sources):
    """Exec the reference cells, then the given replacements, in one namespace."""
    namespace = dict(SOLUTION_NAMESPACE)
    for source in sources:
        exec(source, namespace)
    return namespace


def reference_sources():
    import nbformat
    from pathlib import Path

    nb = nbformat.read(Path(__file__).resolve().parents[2] / "solutions/week2_resnet/resnet.ipynb", as_version=4)
    cells = {c.metadata.get("nbgrader", {}).get("grade_id"): c.source for c in nb.cells}
    return {gid: cells[gid] for gid in ("batchnorm", "resblock", "resnet")}


def namespace_with(**replaced):
    sources = reference_sources()
    sources.update(replaced)
    return build([sources["batchnorm"], sources["resblock"], sources["resnet"]])


def failed_messages(result):
    return " ".join(item.message for item in result.failed_items)


def test_reference_answers_pass():
    ns = namespace_with()
    assert checks.test_batchnorm2d_forward(ns["batchnorm2d_forward"]).passed
    assert checks.test_resnet_skip_connection(ns["ResidualBlock"]).passed
    assert checks.test_simple_resnet(ns["SimpleResNet"]).passed


@pytest.mark.parametrize("mutant, phrase", [
    ("bn_biased_running_var", "unbiased"),
    ("bn_momentum_reversed", "momentum the wrong way round"),
    ("bn_batch_stats_in_eval", "batch statistics used in evaluation"),
    ("bn_wrong_axes", "wrong axes"),
    ("bn_updates_in_place", "modified in place"),
])
def test_batchnorm_mistakes_are_named(mutant, phrase):
    ns = namespace_with(**MUTANTS[mutant])
    result = checks.test_batchnorm2d_forward(ns["batchnorm2d_forward"])
    assert not result.passed
    assert phrase in failed_messages(result)


@pytest.mark.parametrize("mutant, phrase", [
    ("block_no_shortcut", "shortcut was forgotten"),
    ("block_relu_before_add", "ReLU applied before the addition"),
    ("block_shortcut_without_bn", "expected conv3x3"),
])
def test_block_mistakes_are_named(mutant, phrase):
    ns = namespace_with(**MUTANTS[mutant])
    result = checks.test_resnet_skip_connection(ns["ResidualBlock"])
    assert not result.passed
    assert phrase in failed_messages(result)


def test_block_zero_branch_names_missing_shortcut():
    ns = namespace_with(**MUTANTS["block_no_shortcut"])
    messages = failed_messages(checks.test_resnet_skip_connection(ns["ResidualBlock"]))
    assert "shortcut" in messages


def test_resnet_max_pool_is_named():
    ns = namespace_with(**MUTANTS["resnet_max_pool"])
    result = checks.test_simple_resnet(ns["SimpleResNet"])
    assert not result.passed
    assert "MaxPool2d" in failed_messages(result) and "max-pooling" in failed_messages(result)


def test_resnet_missing_stage_fails():
    ns = namespace_with(**MUTANTS["resnet_skips_stage1"])
    assert not checks.test_simple_resnet(ns["SimpleResNet"]).passed


def test_unfinished_stub_says_not_implemented():
    def stub(*args, **kwargs):
        raise NotImplementedError()

    result = checks.test_batchnorm2d_forward(stub)
    assert not result.passed and "not implemented" in result.to_text().lower()
