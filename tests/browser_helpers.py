"""A real headless Chromium (Debian's, driven by Selenium through Debian's chromedriver) and a
real Jupyter server with nbgrader's formgrader, for tests that open pages as a person would."""
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
FLAGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]


def browser_unavailable_reason() -> str | None:
    """Why no headless browser can run here, or None."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[dev]')"
    for path, package in ((CHROMIUM, "chromium"), (CHROMEDRIVER, "chromium-driver")):
        if not os.access(path, os.X_OK):
            return f"{path} is missing: apt-get install {package} (.ci/run installs both)"
    return None


@contextmanager
def chromium():
    """A fresh headless Chromium with its own profile; quits on exit."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in FLAGS + [f"--user-data-dir={profile}"]:
            options.add_argument(flag)
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        driver.set_page_load_timeout(60)
        try:
            yield driver
        finally:
            driver.quit()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def jupyter_server(root: Path, token: str = "grader-browser-test"):
    """A Jupyter server rooted at the course ``root`` (its nbgrader_config.py read, formgrader on);
    yields its base URL. The server runs as this user, as an instructor's would."""
    port = free_port()
    cmd = [sys.executable, "-m", "jupyter", "server", "--no-browser", "--allow-root", f"--port={port}", "--ip=127.0.0.1",
           f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
           "--ServerApp.jpserver_extensions=nbgrader=True"]
    log = open(Path(root) / ".grader" / "jupyter-server.log", "w")
    proc = subprocess.Popen(cmd, cwd=root, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
                break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the Jupyter server did not start: {(Path(root) / '.grader' / 'jupyter-server.log').read_text()[-2000:]}")
                time.sleep(0.5)
        yield base, token
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


SETTLE_SECONDS = 2.0  # time for onload/onerror handlers, frames and fetches to run


def visit(driver, url: str, follow: bool = False) -> dict:
    """Open ``url`` and report what a script on it could have done: the title, links that run
    script, tables a style hid, and the page's visible text.

    ``follow``: open it as a link followed from the page already open (the server serves
    ``/files/`` only to a request from one of its own pages, as JupyterLab's are).
    """
    if follow:
        driver.execute_script("window.location.href = arguments[0];", url)
        deadline = time.monotonic() + 30
        while driver.current_url != url and time.monotonic() < deadline:
            time.sleep(0.1)
    else:
        driver.get(url)
    time.sleep(SETTLE_SECONDS)
    return driver.execute_script("""
        const links = Array.from(document.querySelectorAll('a[href]'))
            .filter(a => a.getAttribute('href').replace(/[\\s\\x00-\\x20]/g, '').toLowerCase().startsWith('javascript:'));
        const tables = Array.from(document.querySelectorAll('table'));
        return {title: document.title, script_links: links.length, tables: tables.length,
                hidden_tables: tables.filter(t => getComputedStyle(t).display === 'none').length,
                text: document.body ? document.body.innerText : ''};
    """)


@contextmanager
def recording_server(root: Path):
    """A plain web server for the files under ``root`` (as a course site or an LMS would serve a
    feedback page) that records every request; yields ``(base URL, requests)`` where requests
    is a list of ``(method, path)``. Writes are refused, but recorded first."""
    import functools
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    requests = []

    class Handler(SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            requests.append(("GET", self.path))
            super().do_GET()

        def _refuse(self):
            requests.append((self.command, self.path))
            self.send_error(403, "this server takes no writes")

        do_PUT = do_POST = do_PATCH = do_DELETE = _refuse

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", requests
    finally:
        server.shutdown()
        server.server_close()
