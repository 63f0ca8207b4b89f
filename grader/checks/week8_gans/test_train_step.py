"""Hidden checks for Exercise 5, ``train_step`` (5 points).

``train_step`` takes networks and optimizers, which cannot cross the sandbox boundary, so these
checks run it inside the jail through a probe appended to the student's program: the probe
builds the grader's two small networks (``utils.checks.week8_gans.probe_networks``: a tanh
generator and a tanh discriminator, not the exercise's classes) with weights chosen here,
gives them recording optimizers, calls the student's ``train_step`` and sends back what was
recorded: which optimizer stepped when, every gradient each network held at each step, the
returned losses and the parameters after. The same recorder runs here on the reference
``train_step`` with the same weights, and everything is compared in this process.

The record is made in the student's process, so code that rewrites the recorder could forge it.
Forging the gradients and the parameters after the update means knowing the reference update
for weights it never saw; the order of the steps and where gradients did not flow (the "order"
and "detach" points) hold no such secret and can be forged by such code. That code has to reach
into ``utils.checks``, which the similarity report flags.
"""
import numpy as np
import pytest

from grader.checks.harness import student_session
from grader.checks.week8_gans import reference
from utils.checks.week8_gans import (fresh_probe_networks, judge_detached, judge_gradients, judge_order, judge_result,
                                     probe_networks, record_train_step, waves)

pytestmark = pytest.mark.grade_cell("train_step_tests")

PROBE = '''
def _grader_train_step_probe(case, g_state, d_state, real, z, saturating):
    from utils.checks.week8_gans import probe_networks, record_train_step, saturating_loss
    G, D = probe_networks(case["latent_dim"], case["hidden_dim"], case["data_dim"], g_state, d_state)
    kwargs = {"g_loss_fn": saturating_loss} if saturating else {}
    return record_train_step(train_step, G, D, real, z, lr=0.05, **kwargs)
'''

CASE = dict(latent_dim=3, hidden_dim=6, data_dim=2, batch=4)
RUNS = {"first": (0.35, False), "second": (2.2, False), "saturating": (0.35, True)}


@pytest.fixture(scope="module")
def probe(request):
    """``(session, records)``: a session on the submission's program plus the probe (its own jailed
    worker), and this submission's records by run name, filled by ``records``."""
    with student_session(request, [PROBE]) as session:
        yield session, {}


def case_data(phase: float):
    G, D = fresh_probe_networks(CASE)
    g_state, d_state = reference.grader_state(G, phase), reference.grader_state(D, phase + 0.8)
    real = waves((CASE["batch"], CASE["data_dim"]), phase + 0.3, np.float64) * 2.0
    z = waves((CASE["batch"], CASE["latent_dim"]), phase + 1.7, np.float64) * 1.5
    return g_state, d_state, real, z


def records(probe, run: str):
    """``(the student's record, the reference's record)`` for ``run``; computed once per submission, a
    failure re-raised."""
    session, cache = probe
    if run not in cache:
        phase, saturating = RUNS[run]
        g_state, d_state, real, z = case_data(phase)
        G, D = probe_networks(CASE["latent_dim"], CASE["hidden_dim"], CASE["data_dim"], g_state, d_state)
        kwargs = {"g_loss_fn": reference.saturating_generator_loss} if saturating else {}
        expected = record_train_step(reference.train_step, G, D, real, z, lr=0.05, **kwargs)
        try:
            got = session.call("_grader_train_step_probe", CASE, g_state, d_state, real, z, saturating)
            if not isinstance(got, dict):
                raise AssertionError("train_step could not be run on the grader's networks")
            cache[run] = (got, expected)
        except Exception as exc:  # noqa: BLE001 - remembered, so every check reports it without running it again
            cache[run] = exc
    value = cache[run]
    if isinstance(value, Exception):
        raise value
    return value


def assert_item(item):
    assert item.passed, item.message


@pytest.mark.points(1)
def test_each_optimizer_steps_once(probe):
    """Optimizers: opt_d steps once, then opt_g steps once; neither network is updated by the other's optimizer"""
    for run in ("first", "second"):
        got, _ = records(probe, run)
        assert_item(judge_order(got))


@pytest.mark.points(1)
def test_discriminator_update_is_detached(probe):
    """Detach: when opt_d steps, no gradient of the discriminator's loss has reached the generator"""
    for run in ("first", "second"):
        got, _ = records(probe, run)
        assert_item(judge_detached(got))


@pytest.mark.points(1)
def test_discriminator_gradient(probe):
    """Discriminator's update: D's gradient at its step is that of discriminator_loss(D(real), D(fake)) (real labelled 1)"""
    for run in ("first", "second"):
        got, expected = records(probe, run)
        assert_item(judge_gradients(got, expected)[0])


@pytest.mark.points(1)
def test_generator_gradient(probe):
    """Generator's update: G's gradient at its step is that of the non-saturating loss through the updated D"""
    for run in ("first", "second"):
        got, expected = records(probe, run)
        assert_item(judge_gradients(got, expected)[1])


@pytest.mark.points(1)
def test_losses_parameters_and_g_loss_fn(probe):
    """Result: the returned (d_loss, g_loss), the parameters after the step, and g_loss_fn used when given"""
    for run in ("first", "second"):
        got, expected = records(probe, run)
        assert_item(judge_result(got, expected))
    got, expected = records(probe, "saturating")
    assert judge_gradients(got, expected)[1].passed and judge_result(got, expected).passed, \
        "with g_loss_fn given, the generator's update does not follow that loss: compute the generator's loss as g_loss_fn(D(fake))"
