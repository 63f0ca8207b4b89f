"""Hidden checks for Exercise 3, ``TextEncoder`` (4 points).

The visible check builds one small encoder (2 layers, batch 3 of 6 tokens); these use other
configurations, batch 1, float64 weights the grader chose (``grader_text_state``), the same
caption padded differently, and gradients to every parameter of the docstring's layout.
"""
import numpy as np
import pytest

from grader.checks.support import array, close, moved, waves
from grader.checks.week9_multimodal.reference import ReferenceTextEncoder, grader_text_state
from utils import no_grad
from utils.checks.week9_multimodal import PAD

pytestmark = pytest.mark.grade_cell("text_encoder_tests")
CLS = "TextEncoder"
SMALL = dict(vocab_size=9, embed_dim=3, d_model=6, num_heads=3, num_layers=1, d_ff=7, max_len=12)
DEEPER = dict(vocab_size=14, embed_dim=4, d_model=8, num_heads=2, num_layers=3, d_ff=5, max_len=9)
TOKENS = np.array([[5, 2, 8, 1, PAD, PAD, PAD],
                   [3, 3, 7, 6, 4, 2, 1],
                   [2, PAD, PAD, PAD, PAD, PAD, PAD],
                   [8, 4, PAD, PAD, PAD, PAD, PAD]], dtype=np.int64)  # (4, 7)


def reference_output(cfg, state, tokens, dtype=np.float64):
    model = ReferenceTextEncoder(**cfg)
    model = model.double() if dtype == np.float64 else model
    model.load_state_dict(state)
    model.eval()
    with no_grad():
        return model(tokens).numpy()


@pytest.mark.points(1)
def test_output_shapes(student):
    """Shapes: another configuration, batch 1 and batch 4, give (N, embed_dim), in float32 with the grader's weights"""
    for cfg, tokens in ((SMALL, TOKENS[:1, :4]), (DEEPER, TOKENS)):
        state = grader_text_state(ReferenceTextEncoder(**cfg), np.float32, 0.2)
        out = array(student.module(CLS, cfg, [tokens], state=state).outputs)
        assert out.shape == (len(tokens), cfg["embed_dim"]), \
            f"the output should have shape (N, embed_dim) = {(len(tokens), cfg['embed_dim'])}"
        assert np.isfinite(out).all(), "the output holds NaN or inf"
        assert close(out, reference_output(cfg, state, tokens, np.float32), rtol=1e-4, atol=1e-5), \
            f"wrong output for a batch of {len(tokens)} with the weights the grader loaded"


@pytest.mark.points(1)
def test_parameters(student):
    """Parameters: names and shapes follow the docstring's layout, and the output follows the weights loaded by those names"""
    res = student.module(CLS, DEEPER, [TOKENS])
    got = {name: info.shape for name, info in res.parameters.items()}
    want = {name: tuple(p.shape) for name, p in ReferenceTextEncoder(**DEEPER).named_parameters()}
    assert got == want, "the parameter names or shapes differ from the layout in the docstring"
    outputs = []
    for phase in (1.1, 2.9):
        state = grader_text_state(ReferenceTextEncoder(**DEEPER), np.float64, phase)
        out = array(student.module(CLS, DEEPER, [TOKENS], state=state, dtype="float64").outputs)
        assert close(out, reference_output(DEEPER, state, TOKENS), rtol=1e-7, atol=1e-9), \
            "with the weights the grader loaded by these names, the output is wrong"
        outputs.append(out)
    assert moved(*outputs), "the output did not change when the weights changed: does forward use the model's parameters?"


@pytest.mark.points(1)
def test_padding_is_ignored(student):
    """Padding (float64): a caption gets the same vector however much padding its batch adds"""
    state = grader_text_state(ReferenceTextEncoder(**SMALL), np.float64, 0.7)
    short = TOKENS[:, :4].copy()  # the first caption loses nothing: it has 4 words
    short[1] = [3, 3, 7, 6]
    longer = np.concatenate([short, np.full((4, 5), PAD, dtype=np.int64)], axis=1)  # (4, 9)
    a = array(student.module(CLS, SMALL, [short], state=state, dtype="float64").outputs)
    b = array(student.module(CLS, SMALL, [longer], state=state, dtype="float64").outputs)
    assert close(a, reference_output(SMALL, state, short), rtol=1e-7, atol=1e-9), "wrong output for captions of 1 to 4 words"
    assert close(b, a, rtol=1e-7, atol=1e-9), \
        "adding PAD columns changed the captions' vectors: mask the padding in attention and leave it out of the mean"


@pytest.mark.points(1)
def test_gradients_reach_every_parameter(student):
    """Gradients (float64): backward reaches every parameter with the right values"""
    from utils import Tensor  # noqa: F401 - the reference runs on the grader's side
    cfg = DEEPER
    reference = ReferenceTextEncoder(**cfg).double()
    state = grader_text_state(reference, np.float64, 1.7)
    reference.load_state_dict(state)
    upstream = waves((len(TOKENS), cfg["embed_dim"]), 0.3, np.float64)
    reference(TOKENS).backward(upstream)
    res = student.module(CLS, cfg, [TOKENS], state=state, backward=upstream, dtype="float64")
    missing = sorted(name for name, _ in reference.named_parameters()
                     if res.parameters.get(name) is None or res.parameters[name].grad is None)
    assert not missing, f"no gradient reached {', '.join(missing[:3])}: build forward from Tensor operations on the parameters"
    for name, p in reference.named_parameters():
        assert close(array(res.parameters[name].grad), p.grad, rtol=1e-6, atol=1e-9), f"the gradient of {name} is wrong"
