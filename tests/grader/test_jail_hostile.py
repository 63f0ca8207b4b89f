"""The jail against a determined student: each attack below once worked on the grader.

- System V shared memory (and POSIX message queues) carried answers from one jail to the next;
- a copy of ``solutions/`` anywhere outside the course root was readable (the jail hid only
  what it was told about) and ``/proc/1/cmdline`` named the course;
- a notebook could fill the host's disk through its home directory;
- the student's kernel could write the notebook runner's report;
- many ``setsid()``'d spinning processes took the CPU from students graded beside them.

Each test runs real jails through the public API. They run as whoever runs pytest; the
ordinary-user run is ``test_rootless.py``.
"""
from __future__ import annotations

import ctypes
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from pathlib import Path

import nbformat
import pytest

from grader.sandbox.paths import jail_paths
from grader.sandbox import Limits, StudentError, StudentSession, run_notebook, sandbox_unavailable_reason

pytestmark = pytest.mark.skipif(sandbox_unavailable_reason() is not None, reason=f"no sandbox: {sandbox_unavailable_reason()}")
FAST = Limits(wall_seconds=60, cpu_seconds=60, memory_bytes=2 * 1024 ** 3, processes=256, output_bytes=1024 ** 2)


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile") / "course-root"
    (root / "solutions" / "week4_attention").mkdir(parents=True)
    (root / "solutions" / "week4_attention" / "attention.ipynb").write_text("SECRET-SOLUTION")
    return root


@pytest.fixture(scope="module")
def paths(course):
    return jail_paths(course)


def student(program: str, paths, limits: Limits = FAST, **kwargs) -> StudentSession:
    hide, expose = paths
    return StudentSession(textwrap.dedent(program), hide, expose, limits, **kwargs)


def _sysv_keys(kind: str) -> set[int]:
    """Keys of the host's System V IPC objects of ``kind`` (shm, msg, sem), as ``ipcs`` lists them."""
    with open(f"/proc/sysvipc/{kind}") as fh:
        next(fh)
        return {int(line.split()[0]) for line in fh if line.strip()}


IPC = """
import ctypes, ctypes.util, os
libc = ctypes.CDLL(None, use_errno=True)
libc.shmat.restype = ctypes.c_void_p
libc.shmget.argtypes = [ctypes.c_int, ctypes.c_size_t, ctypes.c_int]
libc.shmat.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
rt = ctypes.CDLL(ctypes.util.find_library("rt") or None, use_errno=True)
os.umask(0)

def leave_answers(key, queue, text):
    shm = libc.shmget(key, 1 << 20, 0o1000 | 0o666)     # IPC_CREAT
    ctypes.memmove(libc.shmat(shm, None, 0), text.encode() + b"\\0", len(text) + 1)
    mq = rt.mq_open(queue.encode(), os.O_CREAT | os.O_RDWR, 0o666, None)
    return shm, mq

def find_answers(key, queue):
    shm = libc.shmget(key, 0, 0)
    mq = rt.mq_open(queue.encode(), os.O_RDWR)
    text = ctypes.string_at(libc.shmat(shm, None, 0)).decode() if shm >= 0 else None
    return text, mq >= 0
"""


def test_ipc_objects_neither_pass_between_jails_nor_outlive_them(paths):
    key, queue = 0x5EED0000 + os.getpid() % 0xFFFF, f"/grader-hostile-{os.getpid()}"
    before = _sysv_keys("shm")
    try:
        with student(IPC, paths) as first:
            shm, mq = first.call("leave_answers", key, queue, "def softmax(x): ...")
            assert shm >= 0 and mq >= 0, "the jail should allow IPC inside itself"
        with student(IPC, paths) as second:
            text, queue_found = second.call("find_answers", key, queue)
        assert text is None, "a second jail read the first one's System V shared memory"
        assert not queue_found, "a second jail opened the first one's POSIX message queue"
        assert _sysv_keys("shm") - before == set(), "a System V segment outlived its jail"
    finally:  # today's grader leaves them behind: do not leave them for the next run
        for left in _sysv_keys("shm") - before:
            subprocess.run(["ipcrm", "-M", str(left)], capture_output=True)
        ctypes.CDLL(None).mq_unlink(queue.encode())


@pytest.fixture
def copy_outside_course():
    """A copy of a course's solutions/ where an instructor might keep a backup (not under /tmp)."""
    for parent in ("/srv", "/opt", "/var/local", os.path.expanduser("~"), os.getcwd()):
        if os.access(parent, os.W_OK):
            break
    base = Path(tempfile.mkdtemp(prefix="backup-", dir=parent))
    (base / "solutions" / "week4_attention").mkdir(parents=True)
    (base / "solutions" / "week4_attention" / "attention.ipynb").write_text("SECRET-SOLUTION")
    yield base
    shutil.rmtree(base)


def test_solutions_anywhere_on_the_host_stay_out_of_sight(paths, course, copy_outside_course):
    program = """
    import glob, os
    def hunt():
        found = []
        for top in os.listdir("/"):
            if top in ("proc", "sys", "dev", "usr"):
                continue
            for depth in range(4):
                for path in glob.glob(f"/{top}/" + "*/" * depth + "solutions/*/*.ipynb"):
                    try:
                        open(path).read(1)
                        found.append(path)
                    except OSError:
                        pass
        return found[:20]
    def cmdlines():
        out = []
        for pid in os.listdir("/proc"):
            if pid.isdigit():
                try:
                    out.append(open(f"/proc/{pid}/cmdline", "rb").read().decode(errors="replace"))
                except OSError:
                    pass
        return out
    def top():
        return sorted(os.listdir("/"))
    """
    with student(program, paths) as s:
        found, cmdlines, top = s.call("hunt"), s.call("cmdlines"), s.call("top")
    assert found == [], f"solution notebooks were readable from the jail: {found}"
    for text in cmdlines:
        assert str(course) not in text and str(copy_outside_course) not in text, f"a command line names the course: {text!r}"
    allowed = {"usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32", "etc", "proc", "dev", "tmp", "home", "jail"}
    allowed |= {Path(p).resolve().parts[1] for p in paths[1]} | {Path(sys.prefix).parts[1], Path(sys.base_prefix).parts[1]}
    assert set(top) <= allowed, f"the jail's root holds more than the allow-list: {sorted(set(top) - allowed)}"


def test_a_notebook_cannot_fill_the_disk(paths):
    program = """
    import os
    def fill(where, n, size):
        written = 0
        chunk = b"x" * size
        for i in range(n):
            try:
                with open(os.path.join(where, f"fill-{i}"), "wb") as fh:
                    fh.write(chunk)
                written += size
            except OSError:
                break
        return written
    def places():
        paths = [os.environ["HOME"], os.environ["TMPDIR"], "/tmp", "/dev/shm", "/var/tmp"]
        return sorted({os.path.realpath(p) for p in paths if os.path.isdir(p)})
    """
    limits = Limits(wall_seconds=60, cpu_seconds=60, output_bytes=16 * 1024 ** 2, tmpfs_bytes=32 * 1024 ** 2)
    with student(program, paths, limits) as s:
        total = 0
        for place in s.call("places"):
            try:
                total += s.call("fill", place, 12, 8 * 1024 ** 2)
            except StudentError:
                pass  # not there, or not writable
    # every writable place together holds at most a few caps, however many files are written
    assert total <= 3 * limits.tmpfs_bytes, f"the jail let a notebook write {total >> 20} MiB"


FORGE = """
import json, os, signal
forged = {"status": "ok", "reason": "FORGED-REPORT", "cell_errors": []}
notebook = {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
runner = os.getppid()
for arg in open(f"/proc/{runner}/cmdline", "rb").read().split(b"\\0"):
    if os.path.isdir(arg):
        try:
            json.dump(notebook, open(os.path.join(arg, b"executed.ipynb"), "w"))
            json.dump(forged, open(os.path.join(arg, b"status.json"), "w"))
        except OSError:
            pass
try:
    for fd in os.listdir(f"/proc/{runner}/fd"):
        try:
            os.write(os.open(f"/proc/{runner}/fd/{fd}", os.O_WRONLY), json.dumps(forged).encode())
        except OSError:
            pass
except OSError:
    pass
os.kill(runner, signal.SIGKILL)
"""


def test_the_student_cannot_write_the_runners_report(paths, tmp_path):
    hide, expose = paths
    nb = tmp_path / "in.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(FORGE)]), nb)
    run = run_notebook(nb, tmp_path / "out.ipynb", hide, expose, FAST, cell_timeout=30)
    assert "FORGED" not in run.reason, f"the student wrote the runner's report: {run.status} {run.reason}"
    assert run.status != "ok", run.reason


HOG = """
import os, time
def hog(n):
    for _ in range(n):
        if os.fork() == 0:
            os.setsid()
            while True:
                pass
    return "spinning"
"""
WORK = """
import time
def work(n):
    start = time.monotonic()
    x = 0
    for i in range(n):
        x += i * i
    return time.monotonic() - start
"""


def test_a_cpu_hog_leaves_its_neighbour_a_fair_share(paths):
    from grader.sandbox import fair_share_unavailable_reason

    reason = fair_share_unavailable_reason()
    if reason is not None:
        pytest.skip(f"no per-jail CPU quota here: {reason}")
    n = 6_000_000  # about half a second of CPU
    with student(WORK, paths) as honest:
        honest.call("work", 1000)
        alone = min(honest.call("work", n) for _ in range(2))
        with student(HOG, paths, request_timeout=10) as hogger:
            assert hogger.call("hog", 60) == "spinning"
            time.sleep(1)
            beside = min(honest.call("work", n) for _ in range(2))  # noise only ever adds time: take the best
    assert beside < 4 * alone + 0.5, f"beside a CPU hog the honest student's work took {beside:.2f} s against {alone:.2f} s alone"


def test_the_leftover_check_sees_what_a_batch_leaves(tmp_path):
    """The check ``conftest`` puts around the graded class can fail: here the batch leaks on purpose."""
    from host_traces import nothing_left_behind

    libc = ctypes.CDLL(None, use_errno=True)
    sleeper, shm = None, -1
    (tmp_path / "tmp").mkdir()
    try:
        with pytest.raises(AssertionError) as info:
            with nothing_left_behind(tmp_path / "tmp"):
                sleeper = subprocess.Popen(["sleep", "60"])
                shm = libc.shmget(0, 4096, 0o1000 | 0o600)  # IPC_PRIVATE, IPC_CREAT
                (tmp_path / "tmp" / "left-behind.txt").write_text("x")
        message = str(info.value)
        assert "sleep" in message and "left-behind.txt" in message and f"'{shm}'" in message, message
    finally:
        if sleeper is not None:
            sleeper.kill()
            sleeper.wait()
        if shm >= 0:
            libc.shmctl(shm, 0, None)  # IPC_RMID
