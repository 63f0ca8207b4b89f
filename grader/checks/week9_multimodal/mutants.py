"""Deliberately broken references for week 9: every hidden check must fail at least one,
and every mutant must fail at least one check (tests/test_weeks.py)."""

_LOGITS = '''
def clip_logits(image_features, text_features, logit_scale):
    images = {images}
    texts = {texts}
    return {result}
'''
_UNIT_IMAGES = "image_features / (image_features * image_features).sum(axis=1, keepdims=True).sqrt()"
_UNIT_TEXTS = "text_features / (text_features * text_features).sum(axis=1, keepdims=True).sqrt()"


def _logits(images=_UNIT_IMAGES, texts=_UNIT_TEXTS, result="logit_scale.exp() * (images @ texts.T)"):
    return _LOGITS.format(images=images, texts=texts, result=result)


_LOSS = '''
def clip_loss(logits):
    N = logits.shape[0]
    targets = {targets}
    images_to_texts = cross_entropy(logits, targets)
    texts_to_images = cross_entropy(logits.T, targets)
    return {result}
'''


def _loss(targets="np.arange(N)", result="(images_to_texts + texts_to_images) / 2"):
    return _LOSS.format(targets=targets, result=result)


_TEXT = '''
class TextEncoder(Module):
    def __init__(self, vocab_size, embed_dim, d_model=32, num_heads=2, num_layers=1, d_ff=64, max_len=16):
        super().__init__()
        self.token_embedding = Embedding(vocab_size, d_model, padding_idx=PAD)
        self.positional = PositionalEncoding(d_model, max_len)
        self.layers = ModuleList([TransformerEncoderLayer(d_model, num_heads, d_ff, dropout=0.0, activation="gelu",
                                                          norm_first={norm_first}) for _ in range(num_layers)])
        self.norm = LayerNorm(d_model)
        self.proj = Linear(d_model, embed_dim)

    def forward(self, tokens):
        tokens = np.asarray(tokens)
        keep = tokens != PAD
        x = {embed}
        for layer in self.layers:
            x = layer(x, src_key_padding_mask={mask})
        x = {norm}
        share = {share}
        pooled = {pooled}
        return self.proj(pooled)
'''


def _text(norm_first="True", embed="self.positional(self.token_embedding(tokens))", mask="keep", norm="self.norm(x)",
          share="keep / keep.sum(axis=1, keepdims=True)",
          pooled="(x * Tensor(share[:, :, None], dtype=x.dtype, device=x.device)).sum(axis=1)"):
    return _TEXT.format(norm_first=norm_first, embed=embed, mask=mask, norm=norm, share=share, pooled=pooled)


MUTANTS = {
    # Exercise 1: clip_logits
    "logits_not_normalised": {"clip_logits": _logits(images="image_features", texts="text_features")},
    "logits_texts_not_normalised": {"clip_logits": _logits(texts="text_features")},
    "logits_wrong_way_up": {"clip_logits": _logits(result="(images @ texts.T) / logit_scale.exp()")},
    "logits_scale_not_exponentiated": {"clip_logits": _logits(result="logit_scale * (images @ texts.T)")},
    "logits_normalised_over_batch": {"clip_logits": _logits(
        images="image_features / (image_features * image_features).sum(axis=0, keepdims=True).sqrt()",
        texts="text_features / (text_features * text_features).sum(axis=0, keepdims=True).sqrt()")},
    "logits_texts_by_images": {"clip_logits": _logits(result="logit_scale.exp() * (texts @ images.T)")},
    "logits_numpy_scale": {"clip_logits": _logits(result="float(np.exp(logit_scale.item())) * (images @ texts.T)")},
    # Exercise 2: clip_loss
    "loss_images_to_texts_only": {"clip_loss": _loss(result="images_to_texts")},
    "loss_texts_to_images_only": {"clip_loss": _loss(result="texts_to_images")},
    "loss_labels_reversed": {"clip_loss": _loss(targets="np.arange(N)[::-1].copy()")},
    "loss_labels_all_first": {"clip_loss": _loss(targets="np.zeros(N, dtype=np.int64)")},
    "loss_directions_added": {"clip_loss": _loss(result="images_to_texts + texts_to_images")},
    "loss_detached": {"clip_loss": _loss(result="Tensor(((images_to_texts + texts_to_images) / 2).numpy(), dtype=logits.dtype)")},
    # Exercise 3: TextEncoder
    "text_no_positions": {"text_encoder": _text(embed="self.token_embedding(tokens)")},
    "text_no_padding_mask": {"text_encoder": _text(mask="None")},
    "text_mask_flipped": {"text_encoder": _text(mask="~keep")},
    "text_mean_with_padding": {"text_encoder": _text(share="np.full(keep.shape, 1.0 / keep.shape[1])")},
    "text_first_token": {"text_encoder": _text(pooled="x[:, 0]")},
    "text_no_final_norm": {"text_encoder": _text(norm="x")},
    "text_post_norm": {"text_encoder": _text(norm_first="False")},
    # Quiz
    "quiz_all_wrong": {"quiz": 'quiz_answers = {"q1": "a", "q2": "a", "q3": "a", "q4": "a"}'},
}

# Lying module: the layout the docstring asks for, but load_state_dict puts in the visible
# checks' public weights (utils.checks.week9_multimodal.text_state) instead of the ones it is given.
LYING = {
    "liar_text_public_weights": {"text_encoder": _text() + '''

_HonestTextEncoder = TextEncoder


class TextEncoder(_HonestTextEncoder):
    def load_state_dict(self, state_dict, strict=True):
        from utils.checks.week9_multimodal import text_state
        _HonestTextEncoder.load_state_dict(self, text_state(self, np.float64), strict)
'''},
}
MUTANTS.update(LYING)

# No exercise this week has a counterpart in utils (the library has no contrastive loss and no
# caption encoder; cross_entropy and TransformerEncoderLayer are tools the answers may use).
DELEGATING: dict = {}

# Mutants that must earn nothing on the cell they replace (tests/test_weeks.py).
ZERO = {"liar_text_public_weights": "text_encoder_tests"}
