"""Week 9 visible checks: they pass on the reference answers and fail, naming the mistake, on broken ones."""
import numpy as np
import pytest

from grader.checks.week9_multimodal.reference import ReferenceTextEncoder, reference_logits, reference_loss
from utils import Tensor, cross_entropy
from utils.checks.week9_multimodal import PAD
from utils.checks.week9_multimodal import test_clip_logits as check_clip_logits
from utils.checks.week9_multimodal import test_clip_loss as check_clip_loss
from utils.checks.week9_multimodal import test_text_encoder as check_text_encoder


def unit(x, axis=1):
    return x / (x * x).sum(axis=axis, keepdims=True).sqrt()


def failed_text(result):
    assert not result.passed, result
    return " ".join(item.message for item in result.failed_items)


def test_reference_answers_pass():
    for check, answer in ((check_clip_logits, reference_logits), (check_clip_loss, reference_loss),
                          (check_text_encoder, ReferenceTextEncoder)):
        result = check(answer)
        assert result.passed, result


@pytest.mark.parametrize("broken, words", [
    (lambda a, b, s: s.exp() * (a @ b.T), "embeddings are not normalised"),
    (lambda a, b, s: s.exp() * (unit(a) @ b.T), "text features are not normalised"),
    (lambda a, b, s: (unit(a) @ unit(b).T) / s.exp(), "wrong way up"),
    (lambda a, b, s: s * (unit(a) @ unit(b).T), "logit_scale.exp()"),
    (lambda a, b, s: s.exp() * (unit(b) @ unit(a).T), "rows must be images"),
    (lambda a, b, s: float(np.exp(s.item())) * (unit(a) @ unit(b).T), "no gradient reached logit_scale"),
])
def test_clip_logits_mistakes_are_named(broken, words):
    assert words in failed_text(check_clip_logits(broken))


def loss(targets=lambda n: np.arange(n), combine=lambda rows, cols: (rows + cols) / 2):
    def clip_loss(logits):
        t = targets(logits.shape[0])
        return combine(cross_entropy(logits, t), cross_entropy(logits.T, t))
    return clip_loss


@pytest.mark.parametrize("broken, words", [
    (loss(combine=lambda rows, cols: rows), "one direction only"),
    (loss(combine=lambda rows, cols: cols), "one direction only"),
    (loss(targets=lambda n: np.arange(n)[::-1].copy()), "not on the diagonal"),
    (loss(targets=lambda n: np.zeros(n, dtype=np.int64)), "not on the diagonal"),
    (loss(combine=lambda rows, cols: rows + cols), "two directions are added"),
    (loss(combine=lambda rows, cols: Tensor(((rows + cols) / 2).numpy())), "requires grad"),
])
def test_clip_loss_mistakes_are_named(broken, words):
    assert words in failed_text(check_clip_loss(broken))


def test_unfinished_stubs_are_reported():
    def stub(*args):
        raise NotImplementedError()

    assert "not implemented yet" in failed_text(check_clip_logits(stub))
    assert "not implemented yet" in failed_text(check_clip_loss(stub))


class Broken(ReferenceTextEncoder):
    """The reference encoder with one switch turned."""
    positions, mask, pool = True, "keep", "real"

    def forward(self, tokens):
        tokens = np.asarray(tokens)
        keep = tokens != PAD
        x = self.token_embedding(tokens)
        x = self.positional(x) if self.positions else x
        mask = {"keep": keep, "none": None, "flipped": ~keep}[self.mask]
        for layer in self.layers:
            x = layer(x, src_key_padding_mask=mask)
        x = self.norm(x)
        share = keep / keep.sum(axis=1, keepdims=True) if self.pool == "real" else np.full(keep.shape, 1 / keep.shape[1])
        return self.proj((x * Tensor(share[:, :, None], dtype=x.dtype)).sum(axis=1))


def test_the_switchable_encoder_matches_the_reference():
    assert check_text_encoder(Broken).passed


@pytest.mark.parametrize("attr, value, words", [
    ("positions", False, "position codes were not added"),
    ("mask", "none", "src_key_padding_mask=tokens != PAD"),
    ("mask", "flipped", "src_key_padding_mask=tokens != PAD"),
    ("pool", "all", "the mean includes the padding"),
])
def test_text_encoder_mistakes_are_named(attr, value, words):
    broken = type("Broken", (Broken,), {attr: value})
    assert words in failed_text(check_text_encoder(broken))


def test_text_encoder_layout_mistakes_are_named():
    from utils.nn import Embedding, Linear

    class NoPadding(ReferenceTextEncoder):
        def __init__(self, vocab_size, embed_dim, d_model=32, **kwargs):
            super().__init__(vocab_size, embed_dim, d_model, **kwargs)
            self.token_embedding = Embedding(vocab_size, d_model)

    class WrongProjection(ReferenceTextEncoder):
        def __init__(self, vocab_size, embed_dim, d_model=32, **kwargs):
            super().__init__(vocab_size, embed_dim, d_model, **kwargs)
            self.proj = Linear(d_model, d_model)

    assert "padding_idx=PAD" in failed_text(check_text_encoder(NoPadding))
    assert "Linear(8, 5)" in failed_text(check_text_encoder(WrongProjection))
