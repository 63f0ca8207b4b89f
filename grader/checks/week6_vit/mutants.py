"""Deliberately broken references for week 6: every hidden check must fail at least one,
and every mutant must fail at least one check (tests/test_weeks.py)."""

_PATCHES = '''
def extract_patches(images, patch_size):
    N, C, H, W = images.shape
    p = patch_size
    x = images.reshape(N, C, H // p, p, W // p, p)
    order = {order}
    x = x.permute(*order) if isinstance(x, Tensor) else x.transpose(order)
    return {result}
'''


def _patches(order="(0, 2, 4, 1, 3, 5)", result="x.reshape(N, (H // p) * (W // p), C * p * p)"):
    return _PATCHES.format(order=order, result=result)


_EMBED = '''
class PatchEmbedding(Module):
    def __init__(self, img_size=224, patch_size=16, in_channels=3, d_model=768):
        super().__init__()
        self.patch_size = patch_size
        self.n_patches = {n_patches}
        self.proj = Linear(in_channels * patch_size * patch_size, d_model)

    def forward(self, x):
        x = self._input(x)
        patches = {patches}
        return self.proj(patches)
'''


def _embed(n_patches="(img_size // patch_size) ** 2", patches="extract_patches(x, self.patch_size)"):
    return _EMBED.format(n_patches=n_patches, patches=patches)


_VIT = '''
class VisionTransformer(Module):
    def __init__(self, img_size, patch_size, in_channels, num_classes, d_model, num_heads, num_layers, d_ff):
        super().__init__()
        self.patch_embed = PatchEmbedding(img_size, patch_size, {channels}, d_model)
        n = self.patch_embed.n_patches
        rng = np.random.default_rng(0)
        self.cls_token = {cls_token}
        self.pos_embed = Parameter(0.02 * rng.standard_normal((1, {pos_len}, d_model)), dtype=np.float32)
        self.layers = ModuleList([
            TransformerEncoderLayer(d_model, num_heads, d_ff, dropout=0.0, activation="gelu", norm_first={norm_first})
            for _ in range(num_layers)
        ])
        self.norm = LayerNorm(d_model)
        self.head = Linear(d_model, {classes})

    def forward(self, x):
        tokens = self.patch_embed(x)
        N, _, D = tokens.shape
        cls = self.cls_token.expand(N, 1, D) if isinstance(self.cls_token, Tensor) else Tensor(np.broadcast_to(self.cls_token, (N, 1, D)), dtype=tokens.dtype)
        {embed}
        for layer in self.layers:
            z = layer(z)
        z = self.norm(z)
        return self.head({pool})
'''

_CLS_PARAM = "Parameter(0.02 * rng.standard_normal((1, 1, d_model)), dtype=np.float32)"


def _vit(channels="in_channels", cls_token=_CLS_PARAM, pos_len="n + 1", norm_first="True", classes="num_classes",
         embed="z = cat([cls, tokens], axis=1) + self.pos_embed", pool="z[:, 0]"):
    return _VIT.format(channels=channels, cls_token=cls_token, pos_len=pos_len, norm_first=norm_first, classes=classes,
                       embed=embed, pool=pool)


MUTANTS = {
    # Exercise 1
    "patches_channels_last": {"patches": _patches(order="(0, 2, 4, 3, 5, 1)")},
    "patches_column_major": {"patches": _patches(order="(0, 4, 2, 1, 3, 5)")},
    "patches_numpy_detached": {"patches": _patches(result="Tensor(x.reshape(N, -1, C * p * p).numpy(), dtype=x.dtype) if isinstance(x, Tensor) else x.reshape(N, -1, C * p * p)")},
    "patches_numpy_becomes_tensor": {"patches": _patches(
        result="(x if isinstance(x, Tensor) else Tensor(x, dtype=x.dtype)).reshape(N, (H // p) * (W // p), C * p * p)")},
    "patches_float32": {"patches": _patches(result="x.reshape(N, (H // p) * (W // p), C * p * p).astype(np.float32)")},
    # Exercise 2
    "embed_plain_reshape": {"patch_embedding": _embed(patches="x.reshape(x.shape[0], self.n_patches, -1)")},
    "embed_patches_per_side": {"patch_embedding": _embed(n_patches="img_size // patch_size")},
    "embed_detached": {"patch_embedding": _embed(patches="Tensor(extract_patches(x, self.patch_size).numpy(), dtype=x.dtype)")},
    # Exercise 3
    "vit_one_channel": {"vit": _vit(channels="1")},
    "vit_ten_classes": {"vit": _vit(classes="10")},
    "vit_cls_not_parameter": {"vit": _vit(cls_token="np.zeros((1, 1, d_model), dtype=np.float32)")},
    "vit_pos_without_cls_slot": {"vit": _vit(pos_len="n", embed="z = cat([cls, tokens + self.pos_embed], axis=1)")},
    "vit_no_position": {"vit": _vit(embed="z = cat([cls, tokens], axis=1)")},
    "vit_mean_pool": {"vit": _vit(pool="z.mean(axis=1)")},
    "vit_post_norm": {"vit": _vit(norm_first="False")},
    "vit_cls_last": {"vit": _vit(embed="z = cat([tokens, cls], axis=1) + self.pos_embed")},
    # Quiz
    "quiz_all_wrong": {"quiz": 'quiz_answers = {"q1": "c", "q2": "a", "q3": "a", "q4": "a"}'},
}

# Lying module: the layout the docstring asks for, but load_state_dict puts in the visible
# checks' public weights (utils.checks.week6_vit.vit_state) instead of the ones it is given.
# The old hidden checks loaded exactly those values, so it passed them.
LYING = {
    "liar_vit_public_weights": {"vit": _vit() + '''

_HonestVisionTransformer = VisionTransformer


class VisionTransformer(_HonestVisionTransformer):
    def load_state_dict(self, state_dict, strict=True):
        from utils.checks.week6_vit import vit_state
        _HonestVisionTransformer.load_state_dict(self, vit_state(self, np.float64), strict)
'''},
}

# Delegation: the patches cut by the visible check's own loop, and the embedding as a convolution.
DELEGATING = {
    "delegates_windows": {"patches": '''
from utils.nn.conv import windows


def extract_patches(images, patch_size):
    p = patch_size
    x = images.numpy() if isinstance(images, Tensor) else np.asarray(images)
    N, C = x.shape[:2]
    tiles = windows(x, (p, p), (p, p))  # the library's sliding windows, one per patch
    out = np.ascontiguousarray(tiles).reshape(N, C, -1, p * p).transpose(0, 2, 1, 3).reshape(N, -1, C * p * p)
    return Tensor(out, dtype=x.dtype) if isinstance(images, Tensor) else out
'''},
    "delegates_conv_embedding": {"patch_embedding": '''
from utils.nn.conv import conv2d


class PatchEmbedding(Module):
    def __init__(self, img_size=224, patch_size=16, in_channels=3, d_model=768):
        super().__init__()
        self.patch_size, self.in_channels = patch_size, in_channels
        self.n_patches = (img_size // patch_size) ** 2
        self.proj = Linear(in_channels * patch_size * patch_size, d_model)

    def forward(self, x):
        x = self._input(x)
        p, D = self.patch_size, self.proj.weight.shape[0]
        kernel = self.proj.weight.reshape(D, self.in_channels, p, p)  # (D, C, p, p)
        maps = conv2d(x, kernel, self.proj.bias, stride=p)  # (N, D, H/p, W/p)
        return maps.reshape(x.shape[0], D, -1).transpose(1, 2)  # (N, n_patches, D)
'''},
}
MUTANTS.update(LYING)
MUTANTS.update(DELEGATING)

# Mutants that must earn nothing on the cell they replace (tests/test_weeks.py).
ZERO = {"liar_vit_public_weights": "vit_tests", "delegates_windows": "patches_tests",
        "delegates_conv_embedding": "patch_embedding_tests"}
