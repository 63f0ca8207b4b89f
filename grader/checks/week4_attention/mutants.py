"""Deliberately broken references for week 4: every hidden check must fail at least one,
and every mutant must fail at least one check (tests/test_weeks.py)."""

_SDPA = '''
def scaled_dot_product_attention(Q, K, V, mask=None):
    d_k = Q.shape[-1]
    scores = (Q @ K.transpose(-2, -1)) {scale}
    if mask is not None:
        allowed = np.asarray(mask.numpy() if isinstance(mask, Tensor) else mask, dtype=bool)
        scores = scores.masked_fill({masked}, {fill})
    weights = scores.softmax({axis})
    return {output}, weights
'''


def _sdpa(scale="/ math.sqrt(d_k)", masked="~allowed", fill="-1e9", axis="-1", output="weights @ V"):
    return _SDPA.format(scale=scale, masked=masked, fill=fill, axis=axis, output=output)


MUTANTS = {
    "no_scale": {"sdpa": _sdpa(scale="")},
    "softmax_wrong_axis": {"sdpa": _sdpa(axis="-2")},
    "mask_ignored": {"sdpa": _sdpa(masked="np.zeros_like(allowed)")},
    "mask_inverted": {"sdpa": _sdpa(masked="allowed")},
    "minus_inf_fill": {"sdpa": _sdpa(fill="-np.inf")},
    "float32_cast": {"sdpa": _sdpa(output="Tensor((weights @ V).numpy().astype(np.float32))")},
    "numpy_detached": {"sdpa": _sdpa(output="Tensor((weights @ V).numpy(), dtype=V.dtype)")},
    "mask_only_as_array": {"sdpa": _sdpa(masked="~mask")},  # a list or a Tensor mask raises
}

_MASKS = '''
def causal_mask(seq_len):
    return {causal}


def padding_mask(lengths, max_len):
    lengths = {lengths}
    return np.arange(max_len)[None, :] {compare} lengths[:, None]
'''


def _masks(causal="np.tril(np.ones((seq_len, seq_len), dtype=bool))", compare="<",
           lengths="np.asarray(lengths.numpy() if isinstance(lengths, Tensor) else lengths)"):
    return _MASKS.format(causal=causal, compare=compare, lengths=lengths)


_HEADS = '''
def split_heads(x, num_heads):
    N, T, d_model = x.shape
    {split}


def merge_heads(x):
    N, h, T, d_head = x.shape
    return x.transpose(1, 2).reshape(N, T, h * d_head)
'''

_MHA = '''
class MultiHeadAttention(Module):
    def __init__(self, d_model, num_heads):
        super().__init__()
        self.d_model = d_model
        self.num_heads = num_heads
        self.q_proj = Linear(d_model, d_model)
        self.k_proj = Linear(d_model, d_model)
        self.v_proj = Linear(d_model, d_model)
        self.out_proj = Linear(d_model, d_model)

    def forward(self, query, key, value, mask=None):
        q = split_heads(self.q_proj(query), self.num_heads)
        k = split_heads(self.k_proj({key}), self.num_heads)
        v = split_heads(self.v_proj(value), self.num_heads)
        heads, weights = scaled_dot_product_attention(q, k, v, {mask})
        return {output}, weights
'''


def _mha(key="key", mask="mask", output="self.out_proj(merge_heads(heads))"):
    return _MHA.format(key=key, mask=mask, output=output)


_CROSS = '''
class CrossAttention(Module):
    def __init__(self, d_model, num_heads):
        super().__init__()
        self.mha = MultiHeadAttention(d_model, num_heads)

    def forward(self, decoder_states, encoder_states, encoder_lengths):
        S = encoder_states.shape[1]
        mask = {mask}
        return self.mha(decoder_states, encoder_states, encoder_states, mask)
'''

_LOOKUP = '''
class PositionLookup(Module):
    def __init__(self, vocab_size, seq_len, d_model=32, num_heads=2):
        super().__init__()
        self.token_emb = Embedding(vocab_size, d_model)
        self.pos_emb = Embedding(seq_len, d_model)
        self.ask_emb = Embedding(seq_len, d_model)
        self.attn = MultiHeadAttention(d_model, num_heads)
        self.head = Linear(d_model, vocab_size)
        self.last_weights = None

    def forward(self, X):
        letters, where = X[:, :-1], X[:, -1:]
        T = letters.shape[1]
        memory = {memory}
        query = self.ask_emb(where)
        out, self.last_weights = self.attn(query, memory, memory)
        return self.head(out[:, 0])
'''

MUTANTS.update({
    "causal_upper_triangle": {"masks": _masks(causal="np.triu(np.ones((seq_len, seq_len), dtype=bool))")},
    "padding_inverted": {"masks": _masks(compare=">=")},
    "padding_off_by_one": {"masks": _masks(compare="<=")},
    "padding_lengths_tensor_refused": {"masks": _masks(lengths="np.asarray(lengths)")},  # a Tensor becomes an object array
    "padding_lengths_list_refused": {"masks": _masks(lengths="lengths.numpy() if isinstance(lengths, Tensor) else lengths")},
    "split_bare_reshape": {"heads": _HEADS.format(split="return x.reshape(N, num_heads, T, d_model // num_heads)")},
    "split_through_numpy": {"heads": _HEADS.format(
        split="return Tensor(x.numpy().reshape(N, T, num_heads, -1).transpose(0, 2, 1, 3), dtype=x.dtype)")},
    "mha_no_out_proj": {"mha": _mha(output="merge_heads(heads)")},
    "mha_mask_dropped": {"mha": _mha(mask="None")},
    "mha_keys_from_query": {"mha": _mha(key="query")},
    "cross_no_mask": {"cross": _CROSS.format(mask="None")},
    "cross_off_by_one": {"cross": _CROSS.format(mask="padding_mask(np.asarray(encoder_lengths) + 1, S)[:, None, None, :]")},
    "lookup_no_positions": {"lookup": _LOOKUP.format(memory="self.token_emb(letters)")},
    "lookup_positions_of_query": {"lookup": _LOOKUP.format(memory="self.token_emb(letters) + self.pos_emb(where)")},
    "quiz_wrong": {"quiz": 'quiz_answers = {"q1": "d", "q2": "c", "q3": "a", "q4": "a"}\n'},
})

# Lying modules: the real layer, but load_state_dict puts in the values the visible checks
# use (utils.checks.week4_attention.deterministic_state) instead of the ones it is given.
# The old hidden checks loaded exactly those public values, so these passed them.
_LIAR = '''

_Honest{name} = {name}


class {name}(_Honest{name}):
    def load_state_dict(self, state_dict, strict=True):
        from utils.checks.week4_attention import deterministic_state
        public = deterministic_state({{k: tuple(v.shape) for k, v in state_dict.items()}}, np.float64)
        _Honest{name}.load_state_dict(self, public, strict)
'''
def _liar(source, name):
    return source + _LIAR.format(name=name)


_MHA = """
class MultiHeadAttention(Module):
    def __init__(self, d_model, num_heads):
        super().__init__()
        self.d_model, self.num_heads = d_model, num_heads
        self.q_proj, self.k_proj = Linear(d_model, d_model), Linear(d_model, d_model)
        self.v_proj, self.out_proj = Linear(d_model, d_model), Linear(d_model, d_model)

    def forward(self, query, key, value, mask=None):
        q = split_heads(self.q_proj(query), self.num_heads)
        k = split_heads(self.k_proj(key), self.num_heads)
        v = split_heads(self.v_proj(value), self.num_heads)
        heads, weights = scaled_dot_product_attention(q, k, v, mask)
        return self.out_proj(merge_heads(heads)), weights
"""

_LOOKUP = """
class PositionLookup(Module):
    def __init__(self, vocab_size, seq_len, d_model=32, num_heads=2):
        super().__init__()
        self.token_emb = Embedding(vocab_size, d_model)
        self.pos_emb = Embedding(seq_len, d_model)
        self.ask_emb = Embedding(seq_len, d_model)
        self.attn = MultiHeadAttention(d_model, num_heads)
        self.head = Linear(d_model, vocab_size)
        self.last_weights = None

    def forward(self, X):
        letters, where = X[:, :-1], X[:, -1:]
        T = letters.shape[1]
        memory = self.token_emb(letters) + self.pos_emb(np.arange(T))
        out, self.last_weights = self.attn(self.ask_emb(where), memory, memory)
        return self.head(out[:, 0])
"""

_CROSS = """
class CrossAttention(Module):
    def __init__(self, d_model, num_heads):
        super().__init__()
        self.mha = MultiHeadAttention(d_model, num_heads)

    def forward(self, decoder_states, encoder_states, encoder_lengths):
        mask = padding_mask(encoder_lengths, encoder_states.shape[1])[:, None, None, :]
        return self.mha(decoder_states, encoder_states, encoder_states, mask)
"""

LYING = {
    "liar_mha_public_weights": {"mha": _liar(_MHA, "MultiHeadAttention")},
    "liar_cross_public_weights": {"cross": _liar(_CROSS, "CrossAttention")},
    "liar_lookup_public_weights": {"lookup": _liar(_LOOKUP, "PositionLookup")},
}

# Delegation: each exercise answered by the library's attention.
DELEGATING = {
    "delegates_sdpa": {"sdpa": '''
def scaled_dot_product_attention(Q, K, V, mask=None):
    return nn.scaled_dot_product_attention(Q, K, V, attn_mask=None if mask is None else np.asarray(mask.numpy() if isinstance(mask, Tensor) else mask, dtype=bool))
'''},
    "delegates_causal_mask": {"masks": '''
from utils.nn.attention import causal_mask as _library_causal


def causal_mask(seq_len):
    return _library_causal(seq_len, seq_len)


def padding_mask(lengths, max_len):
    from utils.checks.week5_transformer import padding_mask as given
    return given(np.asarray(lengths.numpy() if isinstance(lengths, Tensor) else lengths), max_len)
'''},
    "delegates_mha": {"mha": '''
class MultiHeadAttention(Module):
    def __init__(self, d_model, num_heads):
        super().__init__()
        self.d_model, self.num_heads = d_model, num_heads
        self.q_proj, self.k_proj = Linear(d_model, d_model), Linear(d_model, d_model)
        self.v_proj, self.out_proj = Linear(d_model, d_model), Linear(d_model, d_model)
        inner = nn.MultiHeadAttention(d_model, num_heads)  # the library's layer, sharing these projections
        inner.q_proj, inner.k_proj, inner.v_proj, inner.out_proj = self.q_proj, self.k_proj, self.v_proj, self.out_proj
        self.__dict__["inner"] = inner

    def forward(self, query, key, value, mask=None):
        return self.inner(query, key, value, attn_mask=mask, average_attn_weights=False)
'''},
}
MUTANTS.update(LYING)
MUTANTS.update(DELEGATING)
DELEGATING["delegates_cross_library_mha"] = {"cross": '''
class CrossAttention(Module):
    def __init__(self, d_model, num_heads):
        super().__init__()
        self.mha = MultiHeadAttention(d_model, num_heads)
        inner = nn.MultiHeadAttention(d_model, num_heads)  # the library's layer, sharing the projections
        inner.q_proj, inner.k_proj, inner.v_proj, inner.out_proj = (self.mha.q_proj, self.mha.k_proj,
                                                                    self.mha.v_proj, self.mha.out_proj)
        self.__dict__["inner"] = inner

    def forward(self, decoder_states, encoder_states, encoder_lengths):
        keep = padding_mask(encoder_lengths, encoder_states.shape[1])
        return self.inner(decoder_states, encoder_states, encoder_states, key_padding_mask=keep, average_attn_weights=False)
'''}
MUTANTS.update(DELEGATING)

# Mutants that must earn nothing on the cell they replace (tests/test_weeks.py).
ZERO = {"liar_mha_public_weights": "mha_tests", "liar_cross_public_weights": "cross_tests",
        "liar_lookup_public_weights": "lookup_tests", "delegates_sdpa": "sdpa_tests", "delegates_causal_mask": "masks_tests",
        "delegates_mha": "mha_tests", "delegates_cross_library_mha": "cross_tests"}
