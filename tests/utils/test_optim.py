"""Optimizers against their written-out update rules (and PyTorch), schedulers, clipping."""
import math

import numpy as np
import pytest

from utils import SGD, Adam, CosineAnnealingLR, StepLR, clip_grad_norm_
from utils.nn import Linear, Parameter

F64 = np.float64

GRADS = [np.array([0.5, -1.0, 2.0]), np.array([-0.3, 0.2, 1.0]), np.array([1.5, 0.0, -0.7])]


def run(opt_cls, steps=3, **kw):
    p = Parameter(np.array([1.0, -2.0, 0.5]), dtype=F64)
    opt = opt_cls([p], **kw)
    for g in GRADS[:steps]:
        p.grad = g.copy()
        opt.step()
    return p.data


def test_sgd_plain_and_weight_decay():
    w = np.array([1.0, -2.0, 0.5])
    expected = w.copy()
    for g in GRADS:
        expected = expected - 0.1 * (g + 0.01 * expected)
    np.testing.assert_allclose(run(SGD, lr=0.1, weight_decay=0.01), expected, rtol=1e-14)


@pytest.mark.parametrize("nesterov", [False, True])
def test_sgd_momentum_formula(nesterov):
    w, buf = np.array([1.0, -2.0, 0.5]), None
    for g in GRADS:
        buf = g.copy() if buf is None else 0.9 * buf + g
        w = w - 0.1 * (g + 0.9 * buf if nesterov else buf)
    np.testing.assert_allclose(run(SGD, lr=0.1, momentum=0.9, nesterov=nesterov), w, rtol=1e-14)


def test_adam_formula():
    w = np.array([1.0, -2.0, 0.5])
    m = v = np.zeros(3)
    b1, b2, lr, eps, wd = 0.9, 0.99, 0.01, 1e-8, 0.1
    for t, g in enumerate(GRADS, start=1):
        g = g + wd * w
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        w = w - lr * (m / (1 - b1 ** t)) / (np.sqrt(v / (1 - b2 ** t)) + eps)
    np.testing.assert_allclose(run(Adam, lr=lr, betas=(b1, b2), eps=eps, weight_decay=wd), w, rtol=1e-12)



def test_adam_in_place_float32_steps_match_the_written_out_formulas():
    """The in-place path (float32 state) against the branch that writes the formulas out (float64 state)."""
    rng = np.random.default_rng(0)
    start = rng.standard_normal((4, 5)).astype(np.float32)
    grads = [rng.standard_normal((4, 5)).astype(np.float32) for _ in range(4)]
    fast, plain = Parameter(start.copy()), Parameter(start.copy())
    opts = Adam([fast], lr=0.02, weight_decay=0.01), Adam([plain], lr=0.02, weight_decay=0.01)
    opts[1].state[plain] = {"step": 0, "exp_avg": np.zeros((4, 5)), "exp_avg_sq": np.zeros((4, 5))}  # float64: written out
    for g in grads:
        for p, opt in zip((fast, plain), opts):
            p.grad = g.copy()
            opt.step()
    assert fast.dtype == plain.dtype == np.float32 and opts[0].state[fast]["exp_avg"].dtype == np.float32
    assert np.abs(fast.data - start).max() > 0.01  # the steps moved the weights
    np.testing.assert_allclose(fast.data, plain.data, rtol=1e-6, atol=1e-6)

@pytest.mark.parametrize("opt_cls, kw", [(Adam, {"lr": 0.01}), (SGD, {"lr": 0.1, "momentum": 0.9})])
def test_a_0d_parameter_steps_like_a_1d_one(opt_cls, kw):
    """A scalar parameter (a learned temperature, week 9) follows the same rule as one entry of a vector."""
    scalar, vector = Parameter(np.array(0.7), dtype=F64), Parameter(np.array([0.7]), dtype=F64)
    opts = opt_cls([scalar], **kw), opt_cls([vector], **kw)
    for g in GRADS:
        scalar.grad, vector.grad = np.array(g[0]), np.array([g[0]])
        for opt in opts:
            opt.step()
    assert scalar.data.shape == ()
    np.testing.assert_allclose(scalar.data, vector.data[0], rtol=1e-14)


def test_state_in_insertion_order_and_zero_grad():
    layer = Linear(3, 2)
    opt = Adam(layer.parameters())
    for p in layer.parameters():
        p.grad = np.ones(p.shape, dtype=p.dtype)
    opt.step()
    assert [id(p) for p in opt.state] == [id(layer.weight), id(layer.bias)]
    assert opt.state[layer.weight]["step"] == 1 and layer.weight.dtype == np.float32
    opt.zero_grad()
    assert layer.weight.grad is None and layer.bias.grad is None
    layer.weight.grad = np.ones((2, 3), dtype=np.float32)
    before = layer.bias.data.copy()
    opt.step()  # parameters without a gradient are left alone
    np.testing.assert_array_equal(layer.bias.data, before)


def test_optimizer_errors():
    with pytest.raises(ValueError, match="empty parameter list"):
        SGD([], lr=0.1)
    p = Parameter(np.zeros(2))
    with pytest.raises(ValueError, match="more than once"):
        SGD([p, p], lr=0.1)
    with pytest.raises(ValueError, match="nesterov"):
        SGD([p], lr=0.1, nesterov=True)
    with pytest.raises(TypeError, match="single Tensor"):
        Adam(p)


def test_param_groups_have_their_own_lr():
    a, b = Parameter(np.ones(1), dtype=F64), Parameter(np.ones(1), dtype=F64)
    opt = SGD([{"params": [a]}, {"params": [b], "lr": 1.0}], lr=0.1)
    a.grad, b.grad = np.ones(1), np.ones(1)
    opt.step()
    np.testing.assert_allclose([a.data[0], b.data[0]], [0.9, 0.0])


def test_step_lr_and_cosine():
    opt = SGD([Parameter(np.zeros(1))], lr=1.0)
    sched = StepLR(opt, step_size=2, gamma=0.5)
    lrs = [sched.get_last_lr()[0]]
    for _ in range(5):
        opt.step()
        sched.step()
        lrs.append(sched.get_last_lr()[0])
    assert lrs == [1.0, 1.0, 0.5, 0.5, 0.25, 0.25]
    opt = SGD([Parameter(np.zeros(1))], lr=0.4)
    sched = CosineAnnealingLR(opt, T_max=4, eta_min=0.1)
    lrs = [sched.get_last_lr()[0]]
    for _ in range(4):
        sched.step()
        lrs.append(opt.param_groups[0]["lr"])
    expected = [0.1 + 0.3 * (1 + math.cos(math.pi * t / 4)) / 2 for t in range(5)]
    np.testing.assert_allclose(lrs, expected, rtol=1e-14)


def test_clip_grad_norm():
    a, b = Parameter(np.zeros(2), dtype=F64), Parameter(np.zeros(1), dtype=F64)
    a.grad, b.grad = np.array([3.0, 0.0]), np.array([4.0])
    total = clip_grad_norm_([a, b], max_norm=1.0)
    assert total == pytest.approx(5.0)
    np.testing.assert_allclose(np.concatenate([a.grad, b.grad]), np.array([3.0, 0.0, 4.0]) / (5.0 + 1e-6), rtol=1e-12)
    a.grad = np.array([0.3, 0.4])
    assert clip_grad_norm_(a, max_norm=1.0) == pytest.approx(0.5)
    np.testing.assert_array_equal(a.grad, [0.3, 0.4])  # below the limit: unchanged


def test_adam_and_sgd_match_torch():
    torch = pytest.importorskip("torch")
    for ours_cls, theirs_cls, kw in ((Adam, torch.optim.Adam, dict(lr=0.05, betas=(0.8, 0.9), weight_decay=0.1)),
                                     (SGD, torch.optim.SGD, dict(lr=0.05, momentum=0.9, dampening=0.1, weight_decay=0.01))):
        p = Parameter(np.array([1.0, -2.0, 0.5]), dtype=F64)
        tp = torch.tensor([1.0, -2.0, 0.5], dtype=torch.float64, requires_grad=True)
        opt, topt = ours_cls([p], **kw), theirs_cls([tp], **kw)
        sched, tsched = StepLR(opt, 2, 0.5), torch.optim.lr_scheduler.StepLR(topt, 2, 0.5)
        for g in GRADS * 2:
            p.grad = g.copy()
            tp.grad = torch.tensor(g)
            opt.step()
            topt.step()
            sched.step()
            tsched.step()
            assert sched.get_last_lr() == pytest.approx(tsched.get_last_lr())
        np.testing.assert_allclose(p.data, tp.detach().numpy(), rtol=1e-12)
