"""Grading as an ordinary user: the instructor on a shared server or a university Linux box.

The test makes a user (``useradd``) and runs, as that user (``runuser``), the jail's own tests,
its hostile tests and the pilot week's grading tests (on the pilot class less the samples that
only wait out a time limit), in a pytest of their own. So it needs
root to make the user, and skips otherwise (an ordinary user's own run of the suite already
exercises the rootless path).

Where the interpreter lives under a directory others may not enter (pyenv under ``/root``, as
on our machines), the run gets a mount namespace of its own in which that directory is an
empty tmpfs holding only the interpreter's folder: the host's permissions stay as they are.
"""
from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from unix_users import NEEDED, reopen_closed_dirs

from grader.sandbox import sandbox_unavailable_reason

ROOT = Path(__file__).resolve().parents[2]
# The pilot class, less the samples that only wait for a time limit (they test nbgrader's and
# the checks' limits, not the jail; as root they run in test_grading.py).
CLASS = ("perfect", "partial", "untouched", "noisy-but-right", "patches-numpy", "redefines-builtins", "reads-solutions",
         "writes-gradebook", "exits-process", "memory-bomb", "floods-output")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0, reason="making an ordinary user for this test needs root"),
    pytest.mark.skipif(any(shutil.which(t) is None for t in NEEDED), reason=f"needs {', '.join(NEEDED)}"),
    pytest.mark.skipif(sandbox_unavailable_reason() is not None, reason=f"no sandbox: {sandbox_unavailable_reason()}"),
]


@pytest.fixture(scope="module")
def ordinary_user():
    name = f"grtest{os.getpid() % 100000}"
    home = Path(tempfile.mkdtemp(prefix="grader-rootless-"))
    os.chmod(home, 0o755)
    subprocess.run(["useradd", "--home-dir", str(home / "home"), "--create-home", "--shell", "/bin/sh", "--user-group", name],
                   check=True, capture_output=True)
    try:
        yield name, home
    finally:
        uid = pwd.getpwnam(name).pw_uid
        subprocess.run(["pkill", "-KILL", "-U", str(uid)], capture_output=True)
        subprocess.run(["userdel", "--remove", name], capture_output=True)
        shutil.rmtree(home, ignore_errors=True)


def test_the_jail_and_grading_work_as_an_ordinary_user(ordinary_user):
    name, home = ordinary_user
    work = home / "work"
    work.mkdir()
    shutil.chown(work, name, name)
    interpreter = [Path(sys.executable).parent, Path(os.path.realpath(sys.executable)), Path(sys.prefix), Path(sys.base_prefix), ROOT]
    tests = ["tests/grader/test_sandbox.py", "tests/grader/test_jail_hostile.py",
             "tests/grader/test_grading.py::test_every_sample_gets_what_it_deserves",
             "tests/grader/test_grading.py::test_hostile_code_could_not_touch_the_gradebook_or_the_secrets"]
    pytest_cmd = " ".join([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "-rs",
                           f"--basetemp={work}/pytest", *tests])
    students = ",".join(CLASS)
    script = "\n".join(["set -e", reopen_closed_dirs(interpreter),
                        f"cd {ROOT}",
                        f"exec runuser -u {name} -- env HOME={home}/home TMPDIR={work} PYTHONDONTWRITEBYTECODE=1 "
                        f"GRADER_TEST_PILOT_STUDENTS={students} {pytest_cmd}"])
    run = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
                         capture_output=True, text=True, timeout=1800)
    tail = (run.stdout + run.stderr)[-6000:]
    assert run.returncode == 0, f"as the ordinary user {name}:\n{tail}"
    assert " passed" in run.stdout and " failed" not in run.stdout, tail
    leftovers = [p for p in Path(work).iterdir() if p.name != "pytest"]
    assert leftovers == [], f"files left outside the course: {leftovers}"
