"""Every broken reference (mutant) fails a visible check, or the allow-list below says why not.

Each week's ``grader/checks/<week>/mutants.py`` holds broken references, and tests/test_weeks.py
shows each one fails at least one hidden check. Here each mutant's answers replace the reference's
in the solution notebook; the setup and answer cells are executed in a fresh namespace (as
``grader.course.goldens.reference_namespace`` does), then every visible check cell (tagged ``check``) is
run (those above the first changed answer are skipped: they see only reference answers, which
pass them). A mutant counts as caught when a visible check cell raises (``show_result`` raises
``CheckFailed`` outside a kernel). So "all visible checks pass" means "no known mistake left",
apart from the mistakes listed in ``NOT_VISIBLE`` with the reason. In-process and fast (the
mutants are trusted code); the whole file runs in under a minute.
"""
from __future__ import annotations

import contextlib
import io
from pathlib import Path

import nbformat
import pytest

from grader.course import Course
from grader.nbgrader_setup.cells import grade_id, has_tag
from grader.pipeline.answers import program_cells
from grader.demo.sample_class import mutants

ROOT = Path(__file__).resolve().parents[1]
COURSE = Course.at(ROOT)

QUIZ = "the quiz's visible check only says every question is answered; the letters are graded in secret"
LIAR = ("a lying module that loads the visible check's public weights whatever it is given: only the hidden "
        "checks' private weights can catch it, by design")
LIAR_IGNORES_WEIGHTS = "a module whose load_state_dict ignores the weights it is given: only the hidden checks load weights"

# {week: {mutant: why no visible check can or should catch it}}
NOT_VISIBLE = {
    "week0_autograd": {
        "quiz_wrong": QUIZ,
    },
    "week1_alexnet": {
        "quiz_wrong": QUIZ,
        "liar_mini_keeps_weights": LIAR_IGNORES_WEIGHTS + " (MiniAlexNet is the student's own design: no stored outputs)",
    },
    "week2_resnet": {
        "quiz_wrong": QUIZ,
        "liar_resnet": LIAR,
    },
    "week3_lstm": {
        "quiz_all_wrong": QUIZ,
        "liar_zero_model": LIAR_IGNORES_WEIGHTS + " (the visible check writes its weights in place, by shape)",
    },
    "week4_attention": {
        "quiz_wrong": QUIZ,
        "liar_mha_public_weights": LIAR,
        "liar_cross_public_weights": LIAR,
        "liar_lookup_public_weights": LIAR,
    },
    "week5_transformer": {
        "liar_hides_norms": ("a module that hides parameters from its own parameter list: the visible gradient check can only "
                             "walk the parameters the module reports; the hidden one walks the reference's"),
    },
    "week6_vit": {
        "quiz_all_wrong": QUIZ,
        "liar_vit_public_weights": LIAR,
    },
    "week7_autoencoders": {
        "quiz_all_wrong": QUIZ,
        "liar_ae_public_weights": LIAR,
        "liar_vae_public_weights": LIAR,
    },
    "week8_gans": {
        "quiz_all_wrong": QUIZ,
        "liar_generator_public_weights": LIAR,
    },
    "week9_multimodal": {
        "quiz_all_wrong": QUIZ,
        "liar_text_public_weights": LIAR,
    },
}


def visible_failures(week: str, replaced: dict, first_only: bool = True) -> list[tuple[str, str]]:
    """``[(check cell, error)]``: the visible check cells that fail with ``replaced`` answers
    (only the first one when ``first_only``, which is all the audit needs)."""
    nb = nbformat.read(COURSE.solutions / week / COURSE.notebook_name(week), as_version=4)
    first = len(nb.cells)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and grade_id(cell) in replaced:
            cell.source = replaced[grade_id(cell)]
            first = min(first, index)
    first = 0 if not replaced else first  # checks above the first changed answer see only reference answers
    namespace: dict = {"__name__": f"audit_{week}"}
    failed = []
    with contextlib.redirect_stdout(io.StringIO()):
        for label, source in program_cells(nb):
            try:  # one broken cell must not hide the others, as in the notebook
                exec(compile(source, label, "exec"), namespace)
            except Exception:  # noqa: BLE001 - the checks below will say what is missing
                pass
        for cell in nb.cells[first:]:
            if cell.cell_type == "code" and has_tag(cell, "check"):
                try:
                    exec(compile(cell.source, grade_id(cell), "exec"), namespace)
                except Exception as exc:  # noqa: BLE001 - a failing check is what we look for
                    failed.append((grade_id(cell), f"{type(exc).__name__}: {exc}"))
                    if first_only:
                        break
    return failed


WEEKS = sorted(NOT_VISIBLE)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # a -inf mask fill warns on its way to the NaN it is caught for
@pytest.mark.parametrize("week", WEEKS)
def test_every_mutant_fails_a_visible_check(week, capsys):
    assert COURSE.weeks() == WEEKS, "a week was added or renamed: give it an entry in NOT_VISIBLE"
    assert visible_failures(week, {}, first_only=False) == [], "the reference itself fails a visible check"
    allowed = NOT_VISIBLE[week]
    every = mutants(week)
    assert set(allowed) <= set(every), f"NOT_VISIBLE names mutants that no longer exist: {sorted(set(allowed) - set(every))}"
    missed, caught_anyway = [], []
    for name, replaced in every.items():
        caught = bool(visible_failures(week, replaced))
        if not caught and name not in allowed:
            missed.append(name)
        if caught and name in allowed:
            caught_anyway.append(name)
    with capsys.disabled():
        print(f"\n{week}: {len(every) - len(missed) - len(allowed) + len(caught_anyway)} of {len(every)} mutants fail a visible check")
    assert not missed, f"{week}: these mutants fail a hidden check but pass every visible check: {missed}"
    assert not caught_anyway, f"{week}: now caught visibly, drop them from NOT_VISIBLE: {caught_anyway}"


@pytest.mark.parametrize("week, mutant, later_check, says", [
    ("week4_attention", "no_scale", "mha_check", "Exercise 1 (scaled_dot_product_attention) fails its check; fix it first"),
    ("week4_attention", "split_bare_reshape", "lookup_check", "Exercise 3a (split_heads and merge_heads) fails its check; fix it first"),
    ("week6_vit", "patches_channels_last", "patch_embedding_check", "Exercise 1 (extract_patches) fails its check; fix it first"),
])
def test_a_later_check_names_the_earlier_exercise_to_fix(week, mutant, later_check, says):
    failures = dict(visible_failures(week, mutants(week)[mutant], first_only=False))
    assert later_check in failures, f"{later_check} passed with {mutant}: {sorted(failures)}"
    assert says in failures[later_check]
