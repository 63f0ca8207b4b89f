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
}

_MASKS = '''
def causal_mask(seq_len):
    return {causal}


def padding_mask(lengths, max_len):
    lengths = np.asarray(lengths.numpy() if isinstance(lengths, Tensor) else lengths)
    return np.arange(max_len)[None, :] {compare} lengths[:, None]
'''


def _masks(causal="np.tril(np.ones((seq_len, seq_len), dtype=bool))", compare="<"):
    return _MASKS.format(causal=causal, compare=compare)


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
