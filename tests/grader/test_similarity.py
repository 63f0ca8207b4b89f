"""``python -m grader similarity``: on a small made-up class, copied answers are flagged in
pairs, an answer pasted from the library's source is flagged against that file, and
independent or empty answers are not; code that touches the delegation guard is named; the
HTML report shows student code escaped."""
import ast
import csv
import shutil

import nbformat
import pytest
from course_helpers import ROOT, make_course

from grader.cli import main
from grader.course import Course
from grader.demo.sample_class import solution_answers, with_answers

pytest.importorskip("copydetect")
WEEK = "week4_attention"

CAROL_SDPA = '''
def scaled_dot_product_attention(Q, K, V, mask=None):
    """Written her own way: explicit loops over the batch, einsum for the scores."""
    import numpy as onp
    width = Q.shape[-1]
    logits = Q @ K.transpose(-2, -1) * (1.0 / onp.sqrt(width))
    if mask is not None:
        allowed = onp.asarray(mask.numpy() if hasattr(mask, "numpy") else mask).astype(bool)
        logits = logits.masked_fill(onp.logical_not(allowed), -1e9)
    probabilities = logits.softmax(-1)
    return probabilities @ V, probabilities
'''


def library_function(relative: str, name: str) -> str:
    source = (ROOT / relative).read_text()
    node = next(n for n in ast.parse(source).body if isinstance(n, ast.FunctionDef) and n.name == name)
    return ast.get_source_segment(source, node)


def renamed(source: str) -> str:
    """The same code with its local names changed, as a copier hides a copy."""
    for old, new in (("scores", "s"), ("weights", "attn"), ("output", "result"), ("allowed", "ok"), ("d_k", "dim")):
        source = source.replace(old, new)
    return source + "\n# my own work\n"


@pytest.fixture(scope="module")
def made_up_class(tmp_path_factory):
    course = Course.at(make_course(tmp_path_factory.mktemp("similarity"), [WEEK]))
    shutil.copytree(ROOT / "course" / WEEK, course.release / WEEK)  # what generate makes (a test keeps them equal)
    release = nbformat.read(course.release / WEEK / course.notebook_name(WEEK), as_version=4)
    answers = solution_answers(course, WEEK)
    code = {gid: src for gid, src in answers.items() if gid != "quiz"}
    library = library_function("utils/nn/attention.py", "scaled_dot_product_attention")
    submissions = {
        "alice": code,
        "bob": {gid: renamed(src) for gid, src in code.items()},
        "carol": {"sdpa": CAROL_SDPA},
        "dave": {"sdpa": "# <script>document.title = 'pwned'</script>\n" + library},
        "eve": {},
        "frank": {"sdpa": "from utils.checks import delegation\ndelegation.GUARD.active.clear()\n" + CAROL_SDPA},
        # the grader's worker is __main__ in the jail: these two lines switch the guard off (a hidden check
        # then passes the library's own answer) and named none of the words above
        "grace": {"sdpa": "import __main__, contextlib\n__main__.activate_for_answer = lambda name: contextlib.nullcontext()\n"
                          "from utils.nn.attention import scaled_dot_product_attention"},
    }
    for student, replaced in submissions.items():
        folder = course.submitted(student, WEEK)
        folder.mkdir(parents=True)
        nbformat.write(with_answers(release, replaced), folder / course.notebook_name(WEEK))
    (course.root / "submitted" / "bad id*" / WEEK).mkdir(parents=True)
    return course


def test_flags_copies_and_library_source_but_not_independent_work(made_up_class, capsys):
    course = made_up_class
    assert main(["--root", str(course.root), "similarity", WEEK]) == 0
    printed = capsys.readouterr().out
    with open(course.root / "similarity" / WEEK / "pairs.csv") as fh:
        pairs = {frozenset((r["student"], r["matches"])): r for r in csv.DictReader(fh)}
    assert frozenset(("alice", "bob")) in pairs, printed
    assert float(pairs[frozenset(("alice", "bob"))]["share_of_student"]) > 0.8
    assert frozenset(("dave", "library:utils/nn/attention.py")) in pairs, printed
    flagged = {name for pair in pairs for name in pair}
    assert "eve" not in flagged and not {"carol", "frank"} & {n for pair in pairs for n in pair if "alice" in pair}, printed
    assert "'bad id*': the folder name is not a plain student id" in printed
    assert "frank mentions delegation, GUARD" in printed
    assert "grace mentions __main__" in printed
    assert frozenset(("carol", "frank")) in pairs, printed  # frank pasted carol's answer under his guard-clearing lines
    report = (course.root / "similarity" / WEEK / "report.html").read_text()
    assert "dave" in report and "alice" in report
    assert "<script>document.title" not in report and "&lt;script&gt;" in report
