"""A sample class of submissions built from a week's release, for the demo and the tests.

Each sample is a real notebook file in ``submitted/<student>/<week>/``: the reference
answers, the untouched stub, a partial answer (a broken reference from the week's
``mutants.py``), and hostile ones that try what students (or their bugs) might:
patching NumPy or builtins, reading the solutions, writing the gradebook, killing the
kernel, endless loops, memory and fork bombs, floods of output, broken JSON, a renamed
notebook, edited/deleted test cells, tampered metadata. ``expect`` says what the grader
must make of each.
"""
from __future__ import annotations

import ast
import importlib
import json
import textwrap
from dataclasses import dataclass
from pathlib import Path

import nbformat

from ..course import Course
from ..pipeline.hidden_checks import CHECKS_ROOT
from ..nbgrader_setup.cells import grade_id, is_answer_cell, is_hidden_test_cell, nbgrader_meta

FULL, ZERO, PARTIAL = "full", "zero", "partial"


@dataclass
class Sample:
    student: str
    description: str
    expect: str                  # FULL, ZERO or PARTIAL (autograded part), or a not-gradable kind
    build: object                # callable(nb, ctx) -> nb or bytes (raw file content), or None to skip writing
    filename: str | None = None  # a different file name (renamed notebook)


def answer_cells(nb):
    return [c for c in nb.cells if is_answer_cell(c)]


def defined_names(source: str) -> list[tuple[str, str]]:
    """``[(kind, name)]`` of top-level functions and classes in ``source``."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return []
    return [("class" if isinstance(n, ast.ClassDef) else "def", n.name) for n in tree.body
            if isinstance(n, (ast.FunctionDef, ast.ClassDef))]


def impostor(source: str, prelude: str = "", body: str = "return None") -> str:
    """Code that defines the same names as ``source`` with a hostile ``body``."""
    parts = [textwrap.dedent(prelude).strip()] if prelude else []
    body = textwrap.indent(textwrap.dedent(body).strip(), "    ")
    for kind, name in defined_names(source):
        if kind == "def":
            parts.append(f"def {name}(*args, **kwargs):\n{body}")
        else:
            parts.append(f"class {name}:\n    def __init__(self, *args, **kwargs):\n    {body.replace(chr(10), chr(10) + '    ')}\n"
                         f"    def __call__(self, *args, **kwargs):\n        return None")
    return "\n\n".join(parts)


def with_answers(nb, answers: dict):
    """``nb`` with the answer cells (code or free text) named in ``answers`` replaced by new source."""
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))
    for cell in nb.cells:
        if nbgrader_meta(cell).get("solution") and grade_id(cell) in answers:
            cell.source = answers[grade_id(cell)]
    return nb


def hostile_everywhere(prelude: str = "", body: str = "return None"):
    def build(nb, ctx):
        return with_answers(nb, {grade_id(c): impostor(ctx["solutions"][grade_id(c)], prelude, body) for c in answer_cells(nb)})
    return build


def mutants(week: str) -> dict:
    """The week's broken references: ``{name: {grade_id: source}}`` (empty if it has none)."""
    if not (CHECKS_ROOT / week / "mutants.py").exists():
        return {}
    return importlib.import_module(f"grader.checks.{week}.mutants").MUTANTS


def zero_mutants(week: str) -> dict:
    """``{mutant name: "cell" or "cell:Name"}``: the week's lying and delegating answers, which must earn
    nothing in that cell (or in its checks named after ``Name``)."""
    if not (CHECKS_ROOT / week / "mutants.py").exists():
        return {}
    return dict(getattr(importlib.import_module(f"grader.checks.{week}.mutants"), "ZERO", {}))


def delegating_mutants(week: str) -> dict:
    """``{name: {grade_id: source}}``: answers that call the library's version of their exercise."""
    if not (CHECKS_ROOT / week / "mutants.py").exists():
        return {}
    return dict(getattr(importlib.import_module(f"grader.checks.{week}.mutants"), "DELEGATING", {}))


# ---------------------------------------------------------------------------- script in answers and outputs
PWNED = "pwned"  # the word a payload adds to the page title, and the prefix of the file it asks the server to write


def payload_js(vector: str, frame: str = "") -> str:
    """JavaScript (no double quotes) that appends `` pwned-<vector>`` to the page title and asks the
    Jupyter server, with the viewer's session, to write ``pwned-<vector>.txt`` into its root."""
    doc = f"{frame}document"
    return (f"{doc}.title+=' {PWNED}-{vector}';{frame}fetch('/api/contents/{PWNED}-{vector}.txt',{{method:'PUT',"
            f"headers:{{'Content-Type':'application/json','X-XSRFToken':({doc}.cookie.match(/_xsrf=([^;]+)/)||['',''])[1]}},"
            "body:JSON.stringify({type:'file',format:'text',content:'written by a student'})})")


def payload_html(tag: str) -> str:
    """Every HTML vector at once, each naming itself ``<tag>-<vector>``: script, img onerror, svg
    onload, iframe srcdoc, javascript: links (HTML and markdown) and a style that hides tables."""
    return (f"<script>{payload_js(tag + '-script')}</script>\n"
            f"<img src=\"nowhere.png\" onerror=\"{payload_js(tag + '-img')}\">\n"
            f"<svg onload=\"{payload_js(tag + '-svg')}\"></svg>\n"
            f"<iframe srcdoc=\"<script>{payload_js(tag + '-iframe', 'parent.')}</script>\"></iframe>\n"
            f"<a href=\"javascript:{payload_js(tag + '-link')}\">see my work</a>\n\n"
            f"[and this]({'javascript:' + payload_js(tag + '-mdlink').replace(' ', '%20').replace('(', '%28').replace(')', '%29')})\n\n"
            "<style>table { display: none !important; }</style>\n")


def scripted_outputs() -> str:
    """Code that displays the payloads as ``text/html``, ``text/markdown``, ``application/javascript``
    and ``image/svg+xml`` outputs while the notebook runs."""
    svg = f'<svg xmlns="http://www.w3.org/2000/svg" onload="{payload_js("out-svgimage")}"><circle r="5"/></svg>'
    return ("\n\ntry:\n    from IPython.display import HTML, SVG, Javascript, Markdown, display\n"
            f"    display(HTML({payload_html('out-html')!r}))\n"
            f"    display(Markdown({payload_html('out-md')!r}))\n"
            f"    display(Javascript({payload_js('out-js')!r}))\n"
            f"    display({{'image/svg+xml': {svg!r}, 'text/plain': 'a circle'}}, raw=True)\n"
            "except ImportError:\n    pass\n")


def hidden_test_name(week: str) -> str:
    """The name of one of the week's hidden checks (names like it are printed in the docs)."""
    import re

    for path in sorted((CHECKS_ROOT / week).glob("test_*.py")):
        found = re.search(r"^def (test_\w+)\(", path.read_text(), re.MULTILINE)
        if found:
            return found[1]
    return "test_other_sizes"


def samples(course: Course, week: str) -> list[Sample]:
    root = course.root
    secret_paths = [str(course.solutions / week / course.notebook_name(week)), str(CHECKS_ROOT / week)]
    gradebook = str(root / "gradebook.db")
    partial = next(iter(mutants(week).values()), None)

    def perfect(nb, ctx):
        return with_answers(nb, {**ctx["solutions"], **ctx["written"]})

    def noisy_perfect(nb, ctx):
        noise = "import sys, warnings\nwarnings.warn('a harmless warning')\nprint('debug output', file=sys.stderr)\n"
        return with_answers(nb, {k: noise + v for k, v in ctx["solutions"].items()})

    def edited_test(nb, ctx):
        nb = perfect(nb, ctx)
        for cell in nb.cells:
            if is_hidden_test_cell(cell):
                cell.source = f"{nbgrader_meta(cell).get('points', 1)}  # all points, please"
        return nb

    def deleted_test(nb, ctx):
        nb = perfect(nb, ctx)
        nb.cells = [c for c in nb.cells if not is_hidden_test_cell(c)]
        return nb

    def tampered(nb, ctx):
        for cell in nb.cells:
            if is_hidden_test_cell(cell):
                cell.metadata["nbgrader"]["points"] = 1000
        return nb

    def renamed(nb, ctx):
        return perfect(nb, ctx)

    def scripted(nb, ctx):
        first = next(iter(ctx["solutions"]))
        guess = hidden_test_name(week)
        written = {gid: text + f"\n\nI bet you check this with `def {guess}(student):`\n\n" + payload_html(f"md-{gid}")
                   for gid, text in ctx["written"].items()}
        return with_answers(nb, {**ctx["solutions"], first: ctx["solutions"][first] + scripted_outputs(), **written})

    def broken_json(nb, ctx):
        return nbformat.writes(perfect(nb, ctx)).encode()[:-200]

    def after_loop(nb, ctx):
        return with_answers(nb, {k: v + "\n\nwhile True:\n    pass\n" for k, v in ctx["solutions"].items()})

    out = [
        Sample("perfect", "the reference answers", FULL, perfect),
        Sample("untouched", "the release as handed out", ZERO, lambda nb, ctx: nb),
        Sample("noisy-but-right", "right answers that print to stderr and raise a warning", FULL, noisy_perfect),
        Sample("patches-numpy", "wrong answers that make np.allclose and the checks' helpers always agree", ZERO, hostile_everywhere(
            "import numpy as np\nnp.allclose = lambda *a, **k: True\nnp.testing.assert_allclose = lambda *a, **k: None\n"
            "import utils.checks.result as r\nr.check_close = lambda name, *a, **k: r.CheckItem(name, True)")),
        Sample("redefines-builtins", "wrong answers that redefine builtins (abs, all, isinstance, float), which breaks "
               "the process that loads them for the hidden checks", "kernel_died", hostile_everywhere(
            "import builtins\nbuiltins.abs = lambda x: 0\nbuiltins.all = lambda x: True\nbuiltins.float = lambda *a: 1.0")),
        Sample("reads-solutions", "answers that load the solution notebook and the hidden checks from disk", ZERO, hostile_everywhere(
            f"import json\nfor _p in {secret_paths!r}:\n    try:\n        _nb = json.load(open(_p))\n"
            "        exec('\\n'.join(''.join(c['source']) for c in _nb['cells'] if c['cell_type'] == 'code'))\n"
            "    except Exception as e:\n        print('blocked:', e)")),
        Sample("writes-gradebook", "wrong answers that try to write full marks into the gradebook", ZERO, hostile_everywhere(
            f"import sqlite3\ntry:\n    _db = sqlite3.connect({gradebook!r})\n"
            "    _db.execute('UPDATE grade SET auto_score = 200'); _db.commit()\nexcept Exception as e:\n    print('blocked:', e)")),
        Sample("exits-process", "answers that call os._exit(1) when run", "kernel_died", hostile_everywhere(
            "import os", "os._exit(1)")),
        Sample("loops-inside", "answers with an endless loop inside the graded function", "timed_out", hostile_everywhere(
            "", "while True:\n    pass")),
        Sample("loops-after", "right answers followed by an endless loop at the top of the cell", "timed_out", after_loop),
        Sample("memory-bomb", "answers that allocate terabytes", "out_of_memory", hostile_everywhere(
            "import numpy as np", "hog = [np.empty(1 << 28) for _ in range(100000)]\nreturn hog")),
        Sample("fork-bomb", "answers that fork without end", "timed_out", hostile_everywhere(
            "import os", "while True:\n    try:\n        os.fork()\n    except OSError:\n        pass")),
        Sample("floods-output", "wrong answers that print 50 MB", ZERO, hostile_everywhere(
            "", "print('x' * (50 * 1024 * 1024))\nreturn None")),
        Sample("injects-script", "right answers whose written answers and outputs carry script, event handlers, "
               "javascript: links and a style hiding the score tables, and name a hidden check", FULL, scripted),
        Sample("broken-json", "a notebook file cut short", "invalid_json", broken_json),
        Sample("renamed", "the right answers saved under another name", "renamed_notebook", renamed, filename="my_final_version.ipynb"),
        Sample("edited-tests", "right answers, hidden-test cell edited to claim all points", FULL, edited_test),
        Sample("deleted-tests", "right answers, hidden-test cell deleted", FULL, deleted_test),
        Sample("tampered-points", "hidden-test cell metadata changed to 1000 points", "tampered_metadata", tampered),
    ]
    delegations = {gid: src for replaced in delegating_mutants(week).values() for gid, src in replaced.items()}
    if delegations:
        out.append(Sample("delegates-to-library", "answers that call the library's own version of each exercise "
                          "(the other exercises left as released)", ZERO, lambda nb, ctx: with_answers(nb, delegations)))
    if partial:
        out.insert(2, Sample("partial", "the reference answers with one broken (a mutant): passes some hidden checks", PARTIAL,
                             lambda nb, ctx: with_answers(nb, {**ctx["solutions"], **partial})))
    return out


def solution_answers(course: Course, week: str) -> dict:
    """``{grade_id: source}`` of the answer cells in the instructor's source notebook."""
    source = nbformat.read(course.solutions / week / course.notebook_name(week), as_version=4)
    return {grade_id(c): c.source for c in source.cells if is_answer_cell(c)}


def model_answers(course: Course, week: str) -> dict:
    """``{grade_id: text}`` of the free-response cells' model answers (graded by hand)."""
    source = nbformat.read(course.solutions / week / course.notebook_name(week), as_version=4)
    written = {grade_id(c): c.source for c in source.cells if c.cell_type == "markdown" and nbgrader_meta(c).get("solution")}
    stub = "A sample student's answer, written for the demo class, to be graded by hand."
    return {gid: text if text.strip() != "YOUR ANSWER HERE" else stub for gid, text in written.items()}


def build_class(course: Course, week: str, only=None) -> list[Sample]:
    """Write every sample's submission for ``week``; returns the samples written."""
    release = nbformat.read(course.release / week / course.notebook_name(week), as_version=4)
    ctx = {"solutions": solution_answers(course, week), "written": model_answers(course, week)}
    written = []
    for sample in samples(course, week):
        if only and sample.student not in only:
            continue
        folder = course.submitted(sample.student, week)
        folder.mkdir(parents=True, exist_ok=True)
        for old in folder.glob("*.ipynb"):
            old.unlink()
        content = sample.build(nbformat.from_dict(json.loads(json.dumps(release))), ctx)
        path = folder / (sample.filename or course.notebook_name(week))
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            nbformat.write(content, path)
        written.append(sample)
    return written
