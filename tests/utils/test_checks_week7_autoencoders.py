"""Week 7 visible checks: they pass on the reference answers and fail, naming the mistake, on the
broken references of ``grader/checks/week7_autoencoders/mutants.py``."""
import contextlib
import io
from pathlib import Path

import nbformat
import numpy as np
import pytest

from grader.checks.week7_autoencoders import mutants as week7_mutants
from grader.checks.week7_autoencoders.reference import kl, negative_elbo, reparameterized
from grader.course import Course
from grader.course.goldens import reference_namespace
from grader.pipeline.answers import program_cells
from grader.demo.sample_class import with_answers
from utils.checks import week7_autoencoders as checks
from utils.checks.stored import load_goldens

WEEK = "week7_autoencoders"
ROOT = Path(__file__).resolve().parents[2]
CHECK = {"autoencoder": ("test_autoencoder", "Autoencoder"), "reparameterize": ("test_reparameterize", "reparameterize"),
         "kl": ("test_kl_divergence", "kl_divergence"), "vae_loss": ("test_vae_loss", "vae_loss"), "vae": ("test_vae", "VAE")}


@pytest.fixture(scope="module")
def reference():
    return reference_namespace(Course.at(ROOT), WEEK)


def run_check(namespace, grade_id):
    check, name = CHECK[grade_id]
    return getattr(checks, check)(namespace[name])


def patched(reference, replaced: dict) -> dict:
    """A copy of the reference namespace with ``replaced`` answers defined over it (fast)."""
    namespace = dict(reference)
    for source in replaced.values():
        exec(compile(source, "mutant", "exec"), namespace)
    return namespace


def with_mutant(replaced: dict) -> dict:
    """The notebook's setup and answer cells run with ``replaced`` answers in place (as a student's
    notebook would: a later answer calls the broken earlier one)."""
    course = Course.at(ROOT)
    source = nbformat.read(course.solutions / WEEK / course.notebook_name(WEEK), as_version=4)
    namespace: dict = {"__name__": "mutant"}
    with contextlib.redirect_stdout(io.StringIO()):
        for label, code in program_cells(with_answers(source, replaced)):
            exec(compile(code, label, "exec"), namespace)
    return namespace


def failed_text(result):
    assert not result.passed, result
    return " ".join(item.message for item in result.failed_items)


def test_reference_answers_pass(reference):
    for grade_id in CHECK:
        result = run_check(reference, grade_id)
        assert result.passed, result


def test_goldens_agree_with_the_instructor_formulas():
    mu, log_var, eps, _ = checks._latent_case()
    golden = load_goldens("week7_autoencoders")
    assert np.allclose(golden["reparameterize/z"], reparameterized(mu, log_var, eps), rtol=1e-5, atol=1e-6)
    assert np.allclose(golden["kl/values"], kl(mu, log_var), rtol=1e-5, atol=1e-6)
    assert np.all(golden["kl/values"] > 0)
    x_hat, x, mu, log_var = checks._loss_case()
    assert np.isclose(float(golden["loss/value"][0]), negative_elbo(x_hat, x, mu, log_var), rtol=1e-5)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("mutant, words", [
    ("ae_no_sigmoid", "Sigmoid"),
    ("ae_no_relu", "Linear, ReLU, Linear"),
    ("ae_code_too_wide", "encoder.2.weight has shape"),
    ("ae_forward_returns_codes", "shape (5, 3)"),
    ("ae_detached_codes", "no gradient reached encoder.0.weight"),
    ("reparam_no_trick", "without the reparameterisation trick no gradient reaches the encoder"),
    ("reparam_numpy_sampler", "instead of using the eps passed in"),
    ("reparam_log_var_as_variance", "log_var was used as the variance"),
    ("reparam_variance_as_std", "exp(log_var) is the variance"),
    ("reparam_log_var_as_std", "log_var was used as the standard deviation"),
    ("kl_sign_flipped", "the sign is flipped"),
    ("kl_no_half", "the factor 1/2 is missing"),
    ("kl_batch_axis", "summed over the batch axis (axis 0)"),
    ("kl_mean_over_latent", "averaged over the latent axis"),
    ("kl_log_var_as_variance", "log_var was used as the variance"),
    ("kl_one_number", "reduced to one number"),
    ("loss_mean_over_pixels", "averaged over pixels"),
    ("loss_wrong_axis", "summed over the batch axis (axis 0)"),
    ("loss_kl_subtracted", "the KL term is subtracted"),
    ("loss_no_kl", "the KL term is missing"),
    ("loss_summed_over_batch", "summed over the batch; average"),
    ("vae_swapped_heads", "fc_mu and fc_log_var are swapped"),
    ("vae_decodes_mean", "forward decodes mu itself"),
    ("vae_ignores_eps", "ignores the eps it is given"),
    ("vae_no_fresh_noise", "draw new standard-normal noise"),
    ("vae_detached_sample", "without the reparameterisation trick no gradient reaches the encoder"),
])
def test_each_mistake_is_named(reference, mutant, words):
    replaced = week7_mutants.MUTANTS[mutant]
    (grade_id,) = replaced
    assert words in failed_text(run_check(patched(reference, replaced), grade_id))


def test_every_listed_mutant_is_named_above():
    hidden_only = {"quiz_all_wrong"} | set(week7_mutants.LYING)
    listed = {m for m in week7_mutants.MUTANTS if m not in hidden_only}
    covered = {case[0] for case in _CASES}
    assert listed == covered, f"mutants without a visible-check test here: {sorted(listed - covered)}"


_CASES = [mark.args[1] for mark in test_each_mistake_is_named.pytestmark if mark.name == "parametrize"][0]


def test_a_wrong_kl_is_named_by_the_loss_check():
    namespace = with_mutant(week7_mutants.MUTANTS["kl_sign_flipped"])
    assert "Exercise 3 (kl_divergence) fails its check; fix it first" in failed_text(run_check(namespace, "vae_loss"))


def test_a_wrong_reparameterize_is_named_by_the_vae_check():
    namespace = with_mutant(week7_mutants.MUTANTS["reparam_variance_as_std"])
    assert "Exercise 2 (reparameterize) fails its check; fix it first" in failed_text(run_check(namespace, "vae"))


def test_unfinished_stubs_are_reported():
    def stub(*args, **kwargs):
        raise NotImplementedError()

    for check in (checks.test_reparameterize, checks.test_kl_divergence, checks.test_vae_loss):
        assert "not implemented yet" in failed_text(check(stub))
