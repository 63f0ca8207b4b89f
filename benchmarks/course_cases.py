"""Benchmark rows for what the course notebooks spend their time on.

Layer rows (forward + backward at the sizes a week uses), a Transformer encoder layer
step (week 5), a ViT training step (week 6) and one training epoch of every week's model
(the notebook's architecture, batch size, optimizer and data). Each model is written
once against a ``Kit`` (``benchmarks.kit``) and so built identically on both sides; the
utils model is built first from a fixed seed and its initial weights are copied into
the torch model.

Every case returns (step, result) per side as in ``cases``; ``result()`` lists the
input gradient (where there is one) and then the parameter gradients, or the trained
parameters after an epoch, in PyTorch's parameter names sorted, so both sides line up.
"""
from __future__ import annotations

import functools

import numpy as np

from .case import Case
from .kit import TorchKit, UtilsKit

SEED = 0


def _scaled(n: int, scale: float, least: int = 2) -> int:
    return max(least, int(round(n * scale)))


# ---------------------------------------------------------------------------- models
def mini_alexnet(kit):
    """Week 1: (N, 1, 32, 32) -> (N, 10)."""
    nn = kit.nn

    def block(c_in, c_out, k, p):
        return [nn.Conv2d(c_in, c_out, k, padding=p), nn.BatchNorm2d(c_out), nn.ReLU()]

    return nn.Sequential(
        *block(1, 16, 5, 2), nn.MaxPool2d(3, 2), *block(16, 32, 3, 1), nn.MaxPool2d(3, 2),
        *block(32, 48, 3, 1), *block(48, 48, 3, 1), *block(48, 32, 3, 1), nn.MaxPool2d(3, 2),
        nn.Flatten(), nn.Linear(288, 128), nn.ReLU(), nn.Dropout(0.3), nn.Linear(128, 128), nn.ReLU(),
        nn.Dropout(0.3), nn.Linear(128, 10))


def simple_resnet(kit):
    """Week 2: (N, 1, 8, 8) -> (N, 10); stages of 64, 128, 256 channels."""
    nn = kit.nn

    class Block(nn.Module):
        def __init__(self, c_in, c_out, stride=1):
            super().__init__()
            self.conv1 = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)
            self.bn1 = nn.BatchNorm2d(c_out)
            self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, bias=False)
            self.bn2 = nn.BatchNorm2d(c_out)
            self.shortcut = (nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False), nn.BatchNorm2d(c_out))
                             if stride != 1 or c_in != c_out else nn.Identity())

        def forward(self, x):
            out = self.bn2(self.conv2(self.bn1(self.conv1(x)).relu()))  # (N, C_out, H', W')
            return (out + self.shortcut(x)).relu()

    return nn.Sequential(nn.Conv2d(1, 64, 3, padding=1, bias=False), nn.BatchNorm2d(64), nn.ReLU(),
                         Block(64, 64), Block(64, 128, 2), Block(128, 256, 2),
                         nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(256, 10))


def lstm_model(kit):
    """Week 3: (N, 30, 1) -> (N, 1), an LSTM(1, 32) read at the last step."""
    nn = kit.nn

    class LSTMModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(1, 32, 1, batch_first=True)
            self.head = nn.Linear(32, 1)

        def forward(self, x):
            out, _ = self.lstm(x)  # (N, T, H)
            return self.head(out[:, -1, :])  # (N, 1)

    return LSTMModel()


def position_lookup(kit):
    """Week 4: (N, T + 1) integers -> (N, V) logits, one attention query."""
    nn = kit.nn

    class PositionLookup(nn.Module):
        def __init__(self, vocab=10, seq_len=10, d_model=32, heads=2):
            super().__init__()
            self.token_emb = nn.Embedding(vocab, d_model)
            self.pos_emb = nn.Embedding(seq_len, d_model)
            self.ask_emb = nn.Embedding(seq_len, d_model)
            self.attn = kit.mha(d_model, heads)
            self.head = nn.Linear(d_model, vocab)
            self.positions = kit.data(np.arange(seq_len))

        def forward(self, X):
            letters, where = X[:, :-1], X[:, -1:]  # (N, T), (N, 1)
            memory = self.token_emb(letters) + self.pos_emb(self.positions)  # (N, T, E)
            out = kit.attend(self.attn, self.ask_emb(where), memory, need_weights=True)  # (N, 1, E)
            return self.head(out[:, 0])  # (N, V)

    return PositionLookup()


def _sinusoids(max_len: int, d: int) -> np.ndarray:
    angles = np.arange(max_len)[:, None] * 10000.0 ** (-np.arange(0, d, 2) / d)  # (P, D/2)
    pe = np.zeros((max_len, d), dtype=np.float32)
    pe[:, 0::2], pe[:, 1::2] = np.sin(angles), np.cos(angles)
    return pe


def reversal_transformer(kit, d=32, heads=4, layers=2, d_ff=64, vocab=13, max_len=16):
    """Week 5: encoder-decoder, post-norm, (src (N, S), tgt_in (N, T), keep (N, S), allow (T, T)) -> (N, T, V)."""
    nn = kit.nn

    class FeedForward(nn.Module):
        def __init__(self):
            super().__init__()
            self.linear1, self.linear2 = nn.Linear(d, d_ff), nn.Linear(d_ff, d)

        def forward(self, x):
            return self.linear2(self.linear1(x).relu())

    class Encoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.self_attn, self.feed_forward = kit.mha(d, heads), FeedForward()
            self.norm1, self.norm2 = nn.LayerNorm(d), nn.LayerNorm(d)

        def forward(self, x, keep):
            x = self.norm1(x + kit.attend(self.self_attn, x, x, keep=keep))  # (N, S, E)
            return self.norm2(x + self.feed_forward(x))

    class Decoder(nn.Module):
        def __init__(self):
            super().__init__()
            self.self_attn, self.cross_attn, self.feed_forward = kit.mha(d, heads), kit.mha(d, heads), FeedForward()
            self.norm1, self.norm2, self.norm3 = nn.LayerNorm(d), nn.LayerNorm(d), nn.LayerNorm(d)

        def forward(self, x, memory, keep, allow):
            x = self.norm1(x + kit.attend(self.self_attn, x, x, allow=allow))  # (N, T, E)
            x = self.norm2(x + kit.attend(self.cross_attn, x, memory, keep=keep))
            return self.norm3(x + self.feed_forward(x))

    class Transformer(nn.Module):
        def __init__(self):
            super().__init__()
            self.src_embed, self.tgt_embed = nn.Embedding(vocab, d), nn.Embedding(vocab, d)
            self.encoder_layers = nn.ModuleList([Encoder() for _ in range(layers)])
            self.decoder_layers = nn.ModuleList([Decoder() for _ in range(layers)])
            self.out_proj = nn.Linear(d, vocab)
            self.pe = kit.const(_sinusoids(max_len, d))

        def forward(self, src, tgt_in, keep, allow):
            x = self.src_embed(src) + self.pe[:src.shape[1]]  # (N, S, E)
            for layer in self.encoder_layers:
                x = layer(x, keep)
            y = self.tgt_embed(tgt_in) + self.pe[:tgt_in.shape[1]]  # (N, T, E)
            for layer in self.decoder_layers:
                y = layer(y, x, keep, allow)
            return self.out_proj(y)  # (N, T, V)

    return Transformer()


def vision_transformer(kit, img=8, patch=4, d=64, heads=4, layers=2, d_ff=128, classes=10):
    """Week 6: (N, 1, 8, 8) -> (N, 10); 4 patches of 4x4, class token, pre-norm GELU encoder layers."""
    nn = kit.nn
    n = (img // patch) ** 2
    rng = np.random.default_rng(SEED)

    class ViT(nn.Module):
        def __init__(self):
            super().__init__()
            self.proj = nn.Linear(patch * patch, d)
            self.cls_token = kit.parameter(0.02 * rng.standard_normal((1, 1, d)))
            self.pos_embed = kit.parameter(0.02 * rng.standard_normal((1, n + 1, d)))
            self.layers = nn.ModuleList([
                nn.TransformerEncoderLayer(d, heads, d_ff, dropout=0.0, activation="gelu", norm_first=True, batch_first=True)
                for _ in range(layers)])
            self.norm = nn.LayerNorm(d)
            self.head = nn.Linear(d, classes)

        def forward(self, x):
            N, C, H, W = x.shape
            g = H // patch
            patches = x.reshape(N, C, g, patch, g, patch).permute(0, 2, 4, 1, 3, 5).reshape(N, n, C * patch * patch)
            tokens = self.proj(patches)  # (N, n, D)
            z = kit.cat([self.cls_token.expand(N, 1, d), tokens], 1) + self.pos_embed  # (N, n + 1, D)
            for layer in self.layers:
                z = layer(z)
            return self.head(self.norm(z)[:, 0])  # (N, K)

    return ViT()


# ---------------------------------------------------------------------------- data
@functools.lru_cache(maxsize=None)
def _digits(image_size: int):
    from utils.data import load_digits, train_test_split

    X, y = load_digits(image_size=image_size)
    X_train, _, y_train, _ = train_test_split(X, y, test_size=0.2, seed=SEED, stratify=True)
    return np.ascontiguousarray(X_train, dtype=np.float32), y_train


@functools.lru_cache(maxsize=1)
def _series_windows():
    from numpy.lib.stride_tricks import sliding_window_view

    from utils.data import generate_time_series_data

    series = generate_time_series_data(n_steps=1500, n_features=1, noise=0.1, seed=SEED)[:1200]  # (1200, 1)
    z = ((series - series.mean(0)) / series.std(0)).astype(np.float32)
    X = np.ascontiguousarray(sliding_window_view(z[:-1], 30, axis=0).transpose(0, 2, 1))  # (1170, 30, 1)
    return X, z[30:].copy()  # (1170, 1)


def _lookup_data(n=3000, T=10, V=10):
    rng = np.random.default_rng(SEED)
    letters, where = rng.integers(0, V, size=(n, T)), rng.integers(0, T, size=(n, 1))
    return np.concatenate([letters, where], axis=1), letters[np.arange(n), where[:, 0]]


def _reversal_data(n=4000, lo=3, hi=8):
    rng = np.random.default_rng(SEED)
    src, tgt = np.zeros((n, hi), dtype=np.int64), np.zeros((n, hi + 1), dtype=np.int64)
    for i, length in enumerate(rng.integers(lo, hi + 1, size=n)):
        digits = rng.integers(3, 13, size=length)
        src[i, :length], tgt[i, :length], tgt[i, length] = digits, digits[::-1], 2
    return src, tgt


# ---------------------------------------------------------------------------- losses per week
def _classify(kit, model, X, y):
    return kit.cross_entropy(model(X), y)


def _regress(kit, model, X, y):
    return kit.mse(model(X), y)


def _reversal_loss(kit, model, src, tgt):
    """Teacher forcing and the masked cross-entropy of week 5."""
    src_np, tgt_np = kit.numpy(src), kit.numpy(tgt)
    tgt_in = np.concatenate([np.ones((len(tgt_np), 1), dtype=np.int64), tgt_np[:, :-1]], axis=1)  # BOS first
    T = tgt_np.shape[1]
    allow = np.tril(np.ones((T, T), dtype=bool))  # (T, T) True = may attend
    logits = model(src, kit.data(tgt_in), kit.data(src_np != 0), kit.data(allow))  # (N, T, V)
    per_token = kit.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt.reshape(-1), reduction="none")
    keep = (tgt_np.reshape(-1) != 0).astype(np.float32)
    return (per_token * kit.const(keep)).sum() / float(keep.sum())


# ---------------------------------------------------------------------------- case builders
def _initial_params(build) -> dict:
    """The utils model's initial weights (NumPy's global seed fixed, as the notebooks do)."""
    from utils import asnumpy

    np.random.seed(SEED)
    return {n: asnumpy(p.data).copy() for n, p in build(UtilsKit()).named_parameters()}


def _kit(side: str):
    return UtilsKit() if side == "utils" else TorchKit()


def _sorted(named: dict) -> list:
    """The arrays in name order. The key bias (middle third of ``in_proj_bias``) is blanked: softmax
    ignores it, so its gradient is rounding noise that Adam turns into full-size, library-specific steps."""
    out = []
    for k in sorted(named):
        a = named[k]
        if k.endswith("in_proj_bias"):
            a = a.copy()
            third = len(a) // 3
            a[third:2 * third] = 0.0
        out.append(a)
    return out


def train_case(name, build, data, batch, lr, loss=_classify, clip=None, steps=None, compare="most"):
    """One epoch (or ``steps`` steps) of Adam on ``data(scale) -> (X, y)``, the batches in a fixed shuffled order."""

    def arrays(scale):
        X, y = data()
        m = _scaled(len(X), scale, least=batch) if steps is None else batch * steps
        return {"X": X[:m], "y": y[:m], "params": _initial_params(build)}

    def side(kit_name):
        def make(a):
            kit = _kit(kit_name)
            np.random.seed(SEED)
            model = build(kit)
            kit.load(model, a["params"])
            model.train()
            opt = kit.adam(list(model.parameters()), lr)
            X, y, epoch = a["X"], a["y"], [0]

            def step():
                order = np.random.default_rng([SEED, epoch[0]]).permutation(len(X))
                epoch[0] += 1
                for start in range(0, len(X), batch):
                    idx = order[start:start + batch]
                    value = loss(kit, model, kit.data(X[idx]), kit.data(y[idx]))
                    opt.zero_grad()
                    value.backward()
                    if clip is not None:
                        kit.clip(list(model.parameters()), clip)
                    opt.step()

            return step, lambda: _sorted(kit.params(model))

        return make

    return Case(name, arrays, side("utils"), side("torch"), compare)


def layer_case(name, build, make_input, call=lambda kit, m, x: m(x)):
    """Forward + backward of one module on ``make_input(rng, scale) -> (x, grad)``; x float (gets a gradient) or int."""

    def arrays(scale):
        x, grad = make_input(np.random.default_rng(SEED), scale)
        return {"x": x, "grad": grad, "params": _initial_params(build)}

    def side(kit_name):
        def make(a):
            kit = _kit(kit_name)
            np.random.seed(SEED)
            module = build(kit)
            kit.load(module, a["params"])
            module.train()
            floating = a["x"].dtype.kind == "f"
            x = kit.leaf(a["x"]) if floating else kit.data(a["x"])
            grad = kit.data(a["grad"]) if kit.side == "torch" else a["grad"]

            def step():
                if floating:
                    x.grad = None
                module.zero_grad()
                call(kit, module, x).backward(grad)

            def result():
                return ([kit.numpy(x.grad)] if floating else []) + _sorted(kit.params(module, grads=True))

            return step, result

        return make

    return Case(name, arrays, side("utils"), side("torch"))


def loss_case(name, n, classes):
    """Cross-entropy of (n, classes) logits against integer targets: forward + backward."""

    def arrays(scale):
        rng = np.random.default_rng(SEED)
        b = _scaled(n, scale)
        return {"x": rng.standard_normal((b, classes), dtype=np.float32), "y": rng.integers(0, classes, b)}

    def side(kit_name):
        def make(a):
            kit = _kit(kit_name)
            x, y = kit.leaf(a["x"]), kit.data(a["y"])

            def step():
                x.grad = None
                kit.cross_entropy(x, y).backward()

            return step, lambda: [kit.numpy(x.grad)]

        return make

    return Case(name, arrays, side("utils"), side("torch"))


# ---------------------------------------------------------------------------- the rows
def _normal_pair(shape_in, shape_out=None):
    def make(rng, scale):
        shape = (_scaled(shape_in[0], scale),) + tuple(shape_in[1:])
        out = shape if shape_out is None else (shape[0],) + tuple(shape_out)
        return rng.standard_normal(shape, dtype=np.float32), rng.standard_normal(out, dtype=np.float32)

    return make


def _tokens(n, s, vocab, d):
    def make(rng, scale):
        b = _scaled(n, scale)
        return rng.integers(0, vocab, (b, s)), rng.standard_normal((b, s, d), dtype=np.float32)

    return make


def _padded_encoder_call(kit, layer, x):
    """Week 5's source batches are padded: the last 3 of 8 positions of every other row are padding."""
    keep = np.ones(x.shape[:2], dtype=bool)
    keep[::2, -3:] = False
    if kit.side == "utils":
        return layer(x, src_key_padding_mask=keep)
    return layer(x, src_key_padding_mask=kit.data(~keep))


COURSE_CASES = [
    layer_case("BatchNorm2d train (64, 64, 8, 8)", lambda kit: kit.nn.BatchNorm2d(64), _normal_pair((64, 64, 8, 8))),
    layer_case("LayerNorm (64, 5, 64)", lambda kit: kit.nn.LayerNorm(64), _normal_pair((64, 5, 64))),
    layer_case("Embedding 13x32, (50, 9) tokens", lambda kit: kit.nn.Embedding(13, 32), _tokens(50, 9, 13, 32)),
    layer_case("GELU (64, 5, 128)", lambda kit: kit.nn.GELU(), _normal_pair((64, 5, 128))),
    loss_case("cross-entropy (450, 13)", 450, 13),
    layer_case("Transformer encoder layer b50 S8 d32 h4 ff64 (week 5)",
               lambda kit: kit.nn.TransformerEncoderLayer(32, 4, 64, dropout=0.0, batch_first=True),
               _normal_pair((50, 8, 32)), _padded_encoder_call),
    train_case("ViT training step b64 8x8 p4 d64 h4 L2 (week 6)", vision_transformer, lambda: _digits(8), 64, 2e-3,
               steps=1),
    train_case("week 1 epoch: MiniAlexNet, 1437 digits 32x32, b32, Adam", mini_alexnet, lambda: _digits(32), 32, 3e-3,
               compare="shapes"),  # dropout draws different masks in the two libraries
    train_case("week 2 epoch: SimpleResNet, 1437 digits 8x8, b64, Adam", simple_resnet, lambda: _digits(8), 64, 2e-3),
    train_case("week 3 epoch: LSTM(1, 32), 1170 windows T30, b32, Adam", lstm_model, _series_windows, 32, 5e-3,
               loss=_regress),
    train_case("week 4 epoch: PositionLookup, 3000 sequences, b50, Adam", position_lookup, _lookup_data, 50, 1e-3),
    train_case("week 5 epoch: Transformer d32 L2, 4000 reversals, b50, Adam", reversal_transformer, _reversal_data,
               50, 3e-3, loss=_reversal_loss, clip=1.0),
    train_case("week 6 epoch: ViT d64 L2, 1437 digits 8x8, b64, Adam", vision_transformer, lambda: _digits(8), 64, 2e-3),
]
