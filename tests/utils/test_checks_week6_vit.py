"""Week 6 visible checks: they pass on the reference answers and fail, naming the mistake, on broken ones."""
import numpy as np
import pytest

from utils import Tensor, cat
from grader.checks.week6_vit.reference import ReferenceViT
from grader.checks.week6_vit.reference import looped_patches
from utils.checks.week6_vit import (test_extract_patches as check_extract_patches,
                                    test_vision_transformer as check_vision_transformer,
                                    test_vit_patch_embedding as check_patch_embedding)
from utils.nn import LayerNorm, Linear, Module, ModuleList, Parameter, TransformerEncoderLayer


def extract_patches(images, patch_size, order=(0, 2, 4, 1, 3, 5), plain=False, detach=False):
    N, C, H, W = images.shape
    p = patch_size
    if plain:
        return images.reshape(N, (H // p) * (W // p), C * p * p)
    x = images.reshape(N, C, H // p, p, W // p, p)
    x = x.permute(*order) if isinstance(x, Tensor) else x.transpose(order)
    out = x.reshape(N, (H // p) * (W // p), C * p * p)
    return Tensor(out.numpy()) if detach and isinstance(out, Tensor) else out


class PatchEmbedding(Module):
    def __init__(self, img_size=224, patch_size=16, in_channels=3, d_model=768, extract=extract_patches):
        super().__init__()
        self.patch_size, self.extract = patch_size, extract
        self.n_patches = (img_size // patch_size) ** 2
        self.proj = Linear(in_channels * patch_size * patch_size, d_model)

    def forward(self, x):
        return self.proj(self.extract(self._input(x), self.patch_size))


class VisionTransformer(Module):
    pool, use_pos, norm_first = "cls", True, True

    def __init__(self, img_size, patch_size, in_channels, num_classes, d_model, num_heads, num_layers, d_ff):
        super().__init__()
        self.patch_embed = PatchEmbedding(img_size, patch_size, in_channels, d_model)
        rng = np.random.default_rng(0)
        self.cls_token = Parameter(0.02 * rng.standard_normal((1, 1, d_model)), dtype=np.float32)
        self.pos_embed = Parameter(0.02 * rng.standard_normal((1, self.patch_embed.n_patches + 1, d_model)), dtype=np.float32)
        self.layers = ModuleList([TransformerEncoderLayer(d_model, num_heads, d_ff, dropout=0.0, activation="gelu",
                                                          norm_first=self.norm_first) for _ in range(num_layers)])
        self.norm = LayerNorm(d_model)
        self.head = Linear(d_model, num_classes)

    def forward(self, x):
        tokens = self.patch_embed(x)
        N, _, D = tokens.shape
        z = cat([self.cls_token.expand(N, 1, D), tokens], axis=1)
        if self.use_pos:
            z = z + self.pos_embed
        for layer in self.layers:
            z = layer(z)
        z = self.norm(z)
        return self.head(z[:, 0] if self.pool == "cls" else z.mean(axis=1))


def failed_text(result):
    assert not result.passed, result
    return " ".join(item.message for item in result.failed_items)


def test_looped_reference_matches_manual_patch():
    images = np.arange(2 * 3 * 4 * 6, dtype=np.float64).reshape(2, 3, 4, 6)
    patches = looped_patches(images, 2)
    assert patches.shape == (2, 6, 12)
    assert np.array_equal(patches[1, 4], images[1, :, 2:4, 2:4].reshape(-1))  # grid row 1, column 1


def test_reference_answers_pass():
    for check, answer in ((check_extract_patches, extract_patches), (check_patch_embedding, PatchEmbedding),
                          (check_vision_transformer, VisionTransformer)):
        result = check(answer)
        assert result.passed, result


@pytest.mark.parametrize("broken, words", [
    (lambda x, p: extract_patches(x, p, order=(0, 2, 4, 3, 5, 1)), "(channel, row, column)"),
    (lambda x, p: extract_patches(x, p, order=(0, 4, 2, 1, 3, 5)), "column-major"),
    (lambda x, p: extract_patches(x, p, plain=True), "plain reshape"),
    (lambda x, p: extract_patches(x, p, detach=True), "gradient"),
])
def test_extract_patches_mistakes_are_named(broken, words):
    assert words in failed_text(check_extract_patches(broken))


def test_unfinished_stub_is_reported():
    def stub(images, patch_size):
        raise NotImplementedError()

    assert "not implemented yet" in failed_text(check_extract_patches(stub))


def test_patch_embedding_mistakes_are_named():
    class PlainReshape(PatchEmbedding):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs, extract=lambda x, p: extract_patches(x, p, plain=True))

    class WrongCount(PatchEmbedding):
        def __init__(self, img_size=224, patch_size=16, in_channels=3, d_model=768):
            super().__init__(img_size, patch_size, in_channels, d_model)
            self.n_patches = img_size // patch_size

    class Transposed(PatchEmbedding):
        def __init__(self, img_size=224, patch_size=16, in_channels=3, d_model=768):
            super().__init__(img_size, patch_size, in_channels, d_model)
            self.proj = Linear(d_model, in_channels * patch_size * patch_size)

    assert "plain reshape" in failed_text(check_patch_embedding(PlainReshape))
    assert "(img_size // patch_size) ** 2" in failed_text(check_patch_embedding(WrongCount))
    assert "Linear(48, 10)" in failed_text(check_patch_embedding(Transposed))


@pytest.mark.parametrize("attr, value, words", [
    ("pool", "mean", "class token (position 0)"),
    ("use_pos", False, "position embeddings were not added"),
    ("norm_first", False, "post-norm"),
])
def test_vit_mistakes_are_named(attr, value, words):
    broken = type("Broken", (VisionTransformer,), {attr: value})
    assert words in failed_text(check_vision_transformer(broken))


def test_vit_layout_mistakes_are_named():
    class NoPosSlot(VisionTransformer):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.pos_embed = Parameter(np.zeros((1, self.patch_embed.n_patches, self.cls_token.shape[-1]), dtype=np.float32))

    class Renamed(VisionTransformer):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.blocks = self.layers
            del self.layers

        def forward(self, x):
            self.layers = self.blocks
            return super().forward(x)

    assert "class token plus every patch" in failed_text(check_vision_transformer(NoPosSlot))
    assert "layers" in failed_text(check_vision_transformer(Renamed))


def test_reference_vit_runs_float64():
    ref = ReferenceViT(8, 4, 1, 3, 8, 2, 1, 6).double()
    out = ref(np.ones((2, 1, 8, 8)))
    assert out.shape == (2, 3) and out.dtype == np.float64


def test_vit_missing_final_norm_is_named():
    class NoFinalNorm(VisionTransformer):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.norm.forward = lambda z: z

    assert "final LayerNorm is missing" in failed_text(check_vision_transformer(NoFinalNorm))
