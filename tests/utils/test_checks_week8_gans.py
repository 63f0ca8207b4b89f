"""Week 8 visible checks: they pass on the reference answers and fail, naming the mistake, on broken ones.

The broken answers are the week's mutants (``grader/checks/week8_gans/mutants.py``), run in a
namespace made of the solution notebook's setup and answer cells, as a student's notebook would.
"""
from pathlib import Path

import nbformat
import numpy as np
import pytest

from grader.checks.week8_gans.mutants import MUTANTS
from grader.checks.week8_gans.reference import train_step as reference_train_step
from grader.pipeline.answers import program_cells
from utils.checks import week8_gans as checks

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "solutions" / "week8_gans" / "gans.ipynb"
CHECKS = {"generator": (checks.test_generator, "Generator"), "discriminator": (checks.test_discriminator, "Discriminator"),
          "d_loss": (checks.test_discriminator_loss, "discriminator_loss"),
          "g_loss": (checks.test_generator_loss, "generator_loss"), "train_step": (checks.test_train_step, "train_step")}


def namespace(replaced=None) -> dict:
    """The notebook's setup and answer cells executed, with ``replaced`` answers (``{grade_id: source}``) swapped in."""
    nb = nbformat.read(SOURCE, as_version=4)
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if replaced and gid in replaced:
            cell.source = replaced[gid]
    ns: dict = {"__name__": "week8_test"}
    for label, source in program_cells(nb):
        exec(compile(source, label, "exec"), ns)
    return ns


@pytest.fixture(scope="module")
def reference():
    return namespace()


@pytest.mark.parametrize("cell", sorted(CHECKS))
def test_reference_passes(reference, cell):
    check, name = CHECKS[cell]
    result = check(reference[name])
    assert result.passed, result.to_text()


@pytest.mark.parametrize("mutant, cell, says", [
    ("gen_leaky_relu", "generator", "the hidden layers use ReLU()"),
    ("gen_tanh_always", "generator", "tanh is applied although tanh_output=False"),
    ("gen_tanh_ignored", "generator", "tanh_output=True is ignored"),
    ("gen_detached", "generator", "no gradient reaches z"),
    ("disc_relu", "discriminator", "the hidden layers use LeakyReLU(0.2)"),
    ("disc_sigmoid", "discriminator", "a sigmoid was applied"),
    ("disc_keeps_last_axis", "discriminator", "reshape the (N, 1) output"),
    ("disc_no_flatten", "discriminator", "forward on (N, 1, 2, 3) images"),
    ("d_loss_swapped_labels", "d_loss", "the labels are swapped"),
    ("d_loss_averaged", "d_loss", "the two terms are averaged"),
    ("d_loss_log_sigmoid", "d_loss", "use binary_cross_entropy_with_logits"),
    ("g_loss_saturating", "g_loss", "this is the saturating loss"),
    ("g_loss_negated", "g_loss", "the sign is flipped"),
    ("g_loss_fakes_labelled_fake", "g_loss", "the fakes are labelled 0"),
    ("g_loss_log_sigmoid", "g_loss", "rather than log(sigmoid(x))"),
    ("step_no_detach", "train_step", "Feed D the fakes as fake.detach()"),
    ("step_no_detach_zero_first", "train_step", "Feed D the fakes as fake.detach()"),
    ("step_swapped_labels", "train_step", "real and fake labels are swapped"),
    ("step_saturating", "train_step", "the saturating loss log(1 - D(G(z))) was used"),
    ("step_one_optimizer", "train_step", "opt_d stepped for both updates and opt_g never did"),
    ("step_one_backward", "train_step", "backpropagate the generator's loss only after opt_d.step()"),
    ("step_generator_first", "train_step", "the generator was updated before the discriminator"),
    ("step_no_zero_grad", "train_step", "the previous step's gradients are still there"),
    ("step_ignores_g_loss_fn", "train_step", "compute the generator's loss as g_loss_fn(D(fake))"),
    ("step_returns_swapped", "train_step", "are not the losses of this step"),
])
def test_mistake_is_named(mutant, cell, says):
    check, name = CHECKS[cell]
    result = check(namespace(MUTANTS[mutant])[name])
    assert not result.passed, f"{mutant} passes the visible check"
    assert says in result.to_text(), result.to_text()


def test_a_train_step_check_names_the_loss_exercise_to_fix_first():
    result = checks.test_train_step(namespace(MUTANTS["d_loss_swapped_labels"])["train_step"])
    assert "Exercise 3 (discriminator_loss) fails its check; fix it first" in result.to_text(), result.to_text()


def test_recorder_sees_each_mistake_as_behaviour():
    """The recorder itself: the reference leaves the generator untouched at the discriminator's step,
    and a train_step without detach does not."""
    record = checks.run_train_case(reference_train_step)
    assert record["calls"] == ["opt_d.zero_grad", "opt_d.step", "opt_g.zero_grad", "opt_g.step"]
    assert checks.judge_detached(record).passed
    leaky = namespace(MUTANTS["step_no_detach"])["train_step"]
    assert not checks.judge_detached(checks.run_train_case(leaky)).passed
    expected = checks.run_train_case(reference_train_step, phase=1.0)
    assert all(item.passed for item in checks.judge_gradients(expected, expected))
    assert not np.allclose(expected["returned"], record["returned"]), "the two cases must differ"
