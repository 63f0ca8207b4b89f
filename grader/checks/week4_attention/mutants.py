"""Deliberately broken references for week 4: every hidden check must fail at least one,
and every mutant must fail at least one check (tests/grader/test_mutants.py)."""

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
