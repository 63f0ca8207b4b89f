"""The delegation guard: while an exercise is checked, the library's own version of it refuses
to run from the answer, however the answer reaches it; everywhere else it works unchanged."""
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import utils.nn.attention as attention_module
from utils import Tensor
from utils.checks import delegation
from utils.checks.delegation import DelegationError, forbidding
from utils.checks import week1_alexnet as checks_week1
from utils.checks import week4_attention as checks_week4
from utils.nn import BatchNorm2d, Conv2d, MultiHeadAttention, scaled_dot_product_attention
from utils.nn.conv import conv2d

X = Tensor(np.linspace(-1, 1, 2 * 3 * 4).reshape(2, 3, 4).astype(np.float32))


def test_every_listed_counterpart_can_be_guarded_and_exercise_names_are_unique():
    script = textwrap.dedent("""
        from utils.checks import delegation
        delegation.install_all()
        print(sorted(delegation.GUARD.failed), len(delegation.GUARD.installed))
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout.split("\n")[0]
    assert out.startswith("[] "), f"counterparts that could not be guarded (renamed?): {out}"
    answers = [name for ex in delegation.all_exercises() for name in ex.answers]
    assert len(answers) == len(set(answers)), "an answer name belongs to two exercises: the jail could not tell them apart"


def test_direct_call_alias_and_earlier_import_are_all_refused():
    alias = scaled_dot_product_attention  # bound before the guard existed, as a notebook's setup cell does

    def answer(q, k, v):
        return alias(q, k, v)

    def via_module(q, k, v):
        return attention_module.scaled_dot_product_attention(q, k, v)

    with forbidding("week4_attention", "sdpa"):
        for fn in (answer, via_module):
            with pytest.raises(DelegationError, match="Exercise 1 asks you to write this yourself"):
                fn(X, X, X)
        with pytest.raises(DelegationError, match="MultiHeadAttention"):
            MultiHeadAttention(4, 2)


def test_library_layers_reaching_a_counterpart_are_refused_only_inside_its_exercise():
    layer = Conv2d(3, 2, 3)
    images = Tensor(np.ones((1, 3, 5, 5), dtype=np.float32))
    with forbidding("week1_alexnet", "conv_naive"):
        with pytest.raises(DelegationError):
            layer(images)  # Conv2d calls conv2d: inside the convolution exercise that is delegation too
    with forbidding("week2_resnet", "batchnorm"):
        assert layer(images).shape == (1, 2, 3, 3)  # another exercise's counterparts: the layer works
        with pytest.raises(DelegationError):
            BatchNorm2d(2)


def test_everything_is_restored_after_a_check():
    code, init = conv2d.__code__, MultiHeadAttention.__init__
    with forbidding("week1_alexnet", "conv_naive"), forbidding("week4_attention", "mha"):
        assert conv2d.__code__ is not code and MultiHeadAttention.__init__ is not init
    assert conv2d.__code__ is code and MultiHeadAttention.__init__ is init
    assert not delegation.GUARD.installed and not delegation.GUARD.active
    out, _ = scaled_dot_product_attention(X, X, X)
    assert out.shape == (2, 3, 4)


def test_visible_checks_refuse_a_delegating_answer_and_say_why():
    def sdpa(Q, K, V, mask=None):
        return scaled_dot_product_attention(Q, K, V, attn_mask=mask)

    result = checks_week4.test_transformer_attention(sdpa)
    assert not result.passed
    assert "write this yourself" in " ".join(item.message for item in result.items)

    def conv(x, weight, bias, stride=1, padding=0):
        return conv2d(Tensor(x), Tensor(weight), Tensor(bias), stride=stride, padding=padding).numpy()

    result = checks_week1.test_conv2d_naive(conv)
    assert not result.passed and "write this yourself" in " ".join(item.message for item in result.items)


def test_a_visible_check_may_use_the_library_for_its_own_reference_but_the_answer_may_not():
    from utils.nn import Linear, Module

    class Wrapper(Module):  # hides the library layer behind a module of its own
        def __init__(self, d_model, num_heads):
            super().__init__()
            self.q_proj, self.k_proj = Linear(d_model, d_model), Linear(d_model, d_model)
            self.v_proj, self.out_proj = Linear(d_model, d_model), Linear(d_model, d_model)
            self.inner = None

        def forward(self, query, key, value, mask=None):
            return scaled_dot_product_attention(self.q_proj(query), self.k_proj(key), self.v_proj(value), attn_mask=mask)

    result = checks_week4.test_multi_head_attention(Wrapper)
    assert not result.passed
    assert "write this yourself" in " ".join(item.message for item in result.items)
