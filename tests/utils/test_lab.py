"""``python -m utils.lab``: a real JupyterLab server as students get it, without instructor tools."""
import json
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from utils.lab import student_config

TOKEN = "student-lab-test"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


class Lab:
    """A JupyterLab server started by ``command`` in ``folder``, stopped on exit."""

    def __init__(self, command, cwd, home):
        self.port = _free_port()
        args = [*command, "--no-browser", f"--port={self.port}", f"--IdentityProvider.token={TOKEN}"]
        env = {"PATH": "/usr/bin:/bin", "HOME": str(home), "JUPYTER_RUNTIME_DIR": str(home / "runtime")}
        self.proc = subprocess.Popen(args, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def __enter__(self):
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"JupyterLab exited: {self.proc.stderr.read().decode()[-2000:]}")
            try:
                if _status(self.url("/api/status")) == 200:
                    return self
            except OSError:
                pass
            time.sleep(0.5)
        raise AssertionError("JupyterLab did not start within 90 s")

    def __exit__(self, *exc):
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}?token={TOKEN}"

    def disabled_plugins(self) -> set:
        with urllib.request.urlopen(self.url("/lab"), timeout=30) as response:
            page = response.read().decode()
        data = json.loads(re.search(r'id="jupyter-config-data" type="application/json">(.*?)</script>', page, re.S).group(1))
        return set(data.get("disabledExtensions", []))


def _root_args():
    import os

    return ["--allow-root"] if os.geteuid() == 0 else []


@pytest.fixture
def course(tmp_path):
    (tmp_path / "course").mkdir()
    (tmp_path / "home").mkdir()
    return tmp_path


@pytest.mark.slow
def test_plain_jupyter_lab_shows_the_instructor_tools(course):
    """The control: without the launcher, nbgrader's formgrader is served (else the next test proves nothing)."""
    with Lab([sys.executable, "-m", "jupyterlab", "course", *_root_args()], course, course / "home") as lab:
        assert _status(lab.url("/formgrader")) == 200
        assert "@jupyter/nbgrader:formgrader" not in lab.disabled_plugins()


@pytest.mark.slow
def test_student_lab_hides_the_instructor_tools_and_runs_as_root(course):
    with Lab([sys.executable, "-m", "utils.lab", "course"], course, course / "home") as lab:
        assert _status(lab.url("/formgrader")) == 404
        assert _status(lab.url("/assignments")) == 404  # no exchange configured
        disabled = lab.disabled_plugins()
        for plugin in ("formgrader", "course-list", "create-assignment", "validate-assignment", "menu"):
            assert f"@jupyter/nbgrader:{plugin}" in disabled
    assert not (course / "home" / ".jupyter").exists(), "the launcher changed no user config"


@pytest.mark.slow
def test_the_assignments_tab_stays_where_an_exchange_is_configured(course):
    (course / "course" / "nbgrader_config.py").write_text(
        f"c = get_config()\nc.Exchange.root = {str(course / 'exchange')!r}\nc.CourseDirectory.course_id = 'dl'\n")
    with Lab([sys.executable, "-m", "utils.lab", "course"], course, course / "home") as lab:
        assert _status(lab.url("/formgrader")) == 404
        assert "@jupyter/nbgrader:assignment-list" not in lab.disabled_plugins()
        assert "@jupyter/nbgrader:create-assignment" in lab.disabled_plugins()


def test_config_switches_off_plugins_and_server_extensions_alike():
    config = student_config(with_exchange=False)
    plugins = config["labconfig/page_config.json"]["disabledExtensions"]
    servers = config["jupyter_server_config.json"]["ServerApp"]["jpserver_extensions"]
    assert all(plugins.values()) and not any(servers.values())
    assert "nbgrader.server_extensions.formgrader" in servers and "@jupyter/nbgrader:formgrader" in plugins


def test_the_two_variants_never_share_a_config_folder(tmp_path):
    """Two labs started at once, one with an exchange and one without, each keep their own config."""
    from utils.lab import write_config

    with_exchange, without = write_config(tmp_path, True), write_config(tmp_path, False)
    assert with_exchange != without

    def disabled(folder):
        return json.loads((folder / "labconfig/page_config.json").read_text())["disabledExtensions"]

    assert "@jupyter/nbgrader:assignment-list" not in disabled(with_exchange)
    assert "@jupyter/nbgrader:assignment-list" in disabled(without)
    assert not list(tmp_path.rglob("*.tmp")), "no half-written files are left behind"


def test_the_config_lives_in_the_users_private_runtime_folder(tmp_path, monkeypatch):
    from utils.lab import config_home

    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))
    home = config_home()
    assert home.parent == tmp_path / "runtime" and home.stat().st_mode & 0o077 == 0


def test_a_missing_folder_is_named(tmp_path, capsys, monkeypatch):
    from utils.lab import main

    monkeypatch.chdir(tmp_path)
    assert main(["nowhere"]) == 2
    assert "nowhere" in capsys.readouterr().err


def _lab_as_seen(command, course):
    """Menus and side-bar tabs of JupyterLab with a notebook open, seen in headless Chromium."""
    import nbformat
    from browser_helpers import chromium

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("1 + 1")])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, course / "course" / "week.ipynb")
    with Lab(command, course, course / "home") as lab, chromium() as driver:
        driver.get(lab.url("/lab/tree/week.ipynb"))
        deadline = time.monotonic() + 90
        while not driver.execute_script("return document.querySelectorAll('.jp-NotebookPanel-toolbar').length"):
            assert time.monotonic() < deadline, "JupyterLab did not open the notebook within 90 s"
            time.sleep(0.5)
        time.sleep(2)  # late plugins add their menus and panels
        return driver.execute_script("""return {
            menus: Array.from(document.querySelectorAll('.lm-MenuBar-itemLabel')).map(e => e.textContent),
            tabs: Array.from(document.querySelectorAll('.jp-SideBar .lm-TabBar-tab')).map(e => e.getAttribute('title') || e.textContent)};""")


@pytest.mark.slow
def test_in_a_browser_the_student_lab_has_no_nbgrader_menu_or_create_assignment_panel(course):
    from browser_helpers import browser_unavailable_reason

    if browser_unavailable_reason():
        pytest.skip(browser_unavailable_reason())
    plain = _lab_as_seen([sys.executable, "-m", "jupyterlab", "course", *_root_args()], course)
    assert "Nbgrader" in plain["menus"] and any("Create Assignment" in t for t in plain["tabs"]), plain  # the control
    student = _lab_as_seen([sys.executable, "-m", "utils.lab", "course"], course)
    assert "File" in student["menus"] and "Nbgrader" not in student["menus"], student
    assert not any("Nbgrader" in t or "Assignment" in t for t in student["tabs"]), student
