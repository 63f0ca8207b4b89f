"""Student script opened in a real browser: formgrader (a real Jupyter server with nbgrader's
formgrader, the instructor's session) and the feedback pages (served as a course site would).

The ``injects-script`` sample of the pilot class puts ``<script>``, ``<img onerror>``,
``<svg onload>``, ``<iframe srcdoc>``, ``javascript:`` links and a table-hiding ``<style>`` into
its written answers and, while the notebook runs, into ``text/html``, ``text/markdown``,
``application/javascript`` and ``image/svg+xml`` outputs. Each payload appends ``pwned-<vector>``
to the page title and asks the server to write ``pwned-<vector>.txt`` with the viewer's session.
Each test first opens the same attack unsanitised (a control: it must fire, so the test can
fail), then what the grader stored: nothing may fire.
"""
import shutil

import nbformat
import pytest
from browser_helpers import browser_unavailable_reason, chromium, jupyter_server, recording_server, visit
from course_helpers import ROOT

from grader.course.feedback import feedback_page, generate_feedback
from grader.nbgrader_setup.gradebook import locked_gradebook
from grader.demo.sample_class import PWNED, payload_html, payload_js

PILOT = "week4_attention"
STUDENT = "injects-script"

pytestmark = pytest.mark.skipif(bool(browser_unavailable_reason()), reason=browser_unavailable_reason() or "")


def control_notebook(course):
    """What plain nbgrader stored for this student: the written answers as submitted, and the
    outputs the notebook printed (every output kind), unsanitised, beside a score table."""
    nb = nbformat.read(course.submitted(STUDENT, PILOT) / course.notebook_name(PILOT), as_version=4)
    svg = f'<svg xmlns="http://www.w3.org/2000/svg" onload="{payload_js("out-svgimage")}"><circle r="5"/></svg>'
    nb.cells.append(nbformat.v4.new_code_cell("show()", outputs=[
        nbformat.v4.new_output("display_data", data={"text/html": "<table><tr><td>score</td><td>4 / 4</td></tr></table>"}),
        nbformat.v4.new_output("display_data", data={"text/html": payload_html("out-html")}),
        nbformat.v4.new_output("display_data", data={"text/markdown": payload_html("out-md")}),
        nbformat.v4.new_output("display_data", data={"application/javascript": payload_js("out-js")}),
        nbformat.v4.new_output("display_data", data={"image/svg+xml": svg}),
    ]))
    return nb


def fired(page: dict, written: list) -> list:
    """What the payloads managed: title changes, server writes, script links, hidden tables."""
    found = [w for w in page["title"].split() if w.startswith(PWNED)] + [str(w) for w in written]
    if page["script_links"]:
        found.append(f"{page['script_links']} javascript: links")
    if page["hidden_tables"]:
        found.append(f"{page['hidden_tables']} tables hidden by a style")
    return found


@pytest.fixture(scope="module")
def browser():
    with chromium() as driver:
        yield driver


def test_formgrader_shows_the_submission_without_running_it(pilot_course, browser):
    course, samples, outcomes = pilot_course
    assert outcomes[STUDENT]["status"] == "graded" and STUDENT in samples
    shutil.copy(ROOT / "nbgrader_config.py", course.root)  # as in a real course root: formgrader reads it
    with locked_gradebook(course) as gb:
        submission = gb.find_submission_notebook("attention", PILOT, STUDENT).id
    stored = course.autograded(STUDENT, PILOT) / course.notebook_name(PILOT)
    kept = stored.read_bytes()

    def pwned_files():
        return sorted(p.name for p in course.root.glob(f"{PWNED}-*.txt"))

    with jupyter_server(course.root) as (base, token):
        visit(browser, f"{base}/formgrader?token={token}")  # log in: the instructor's session
        page_url = f"{base}/formgrader/submissions/{submission}/?index=0"
        try:
            nbformat.write(control_notebook(course), stored)
            control = visit(browser, page_url)
            control_fired = fired(control, pwned_files())
        finally:
            stored.write_bytes(kept)
            for path in course.root.glob(f"{PWNED}-*.txt"):
                path.unlink()
        page = visit(browser, page_url)
        written = pwned_files()
    # the control proves the attack works against what plain nbgrader stores ...
    assert any(f.endswith("-script") for f in control_fired) and any(f.endswith(".txt") for f in control_fired), control_fired
    assert any("hidden by a style" in f for f in control_fired) and any("javascript:" in f for f in control_fired)
    # ... and nothing of it works against what the grader stored
    assert fired(page, written) == []
    assert "Hidden checks: 4 / 4 points" in page["text"] and page["tables"] > 0
    assert "<script>document.title" in page["text"]  # the answer is there, as text the instructor can read
    assert "def test_" in page["text"]  # the guessed hidden-check name stays in the answer


def test_feedback_pages_show_the_submission_without_running_it(pilot_course, browser, tmp_path):
    course, _, _ = pilot_course
    written = generate_feedback(course, PILOT, [STUDENT])
    assert written[STUDENT].endswith(".html"), written
    site = tmp_path / "site"
    shutil.copytree(course.feedback_dir(STUDENT, PILOT), site / "feedback")
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter().from_notebook_node(control_notebook(course))
    (site / "control.html").write_text(body)
    with recording_server(site) as (base, requests):
        control = visit(browser, f"{base}/control.html")
        control_writes = [r for r in requests if r[0] != "GET"]
        requests.clear()
        page = visit(browser, f"{base}/feedback/{feedback_page(course, PILOT, STUDENT).name}")
        writes = [r for r in requests if r[0] != "GET"]
    assert any(f.endswith("-script") for f in fired(control, [])) and control_writes, (control["title"], control_writes)
    assert fired(page, writes) == [], (page["title"], writes)
    assert "Hidden checks: 4 / 4 points" in page["text"]
