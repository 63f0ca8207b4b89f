"""A real course in a temporary folder: solutions copied in, released through nbgrader,
a sample class submitted and graded once per test session (real kernels, real jail,
a real SQLite gradebook), checked to leave nothing behind on the host."""
import ctypes
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pytest
from course_helpers import make_course

from grader.sandbox import sandbox_unavailable_reason
from grader.sandbox.fair_share import GROUP_NAME

PILOT = "week4_attention"
PR_SET_CHILD_SUBREAPER = 36
ONLY_ENV = "GRADER_TEST_PILOT_STUDENTS"  # grade only these samples (comma-separated): test_rootless's shorter class


def _sysv_objects() -> set[tuple[str, str]]:
    """(kind, id) of every System V IPC object on the host, as ``ipcs`` lists them."""
    out = set()
    for kind in ("shm", "msg", "sem"):
        with open(f"/proc/sysvipc/{kind}") as fh:
            next(fh)
            out |= {(kind, line.split()[1]) for line in fh if line.strip()}
    return out


def _living_children() -> list[str]:
    """``pid comm`` of this process's children that are not zombies."""
    out = []
    for task in os.listdir("/proc/self/task"):
        try:
            children = Path(f"/proc/self/task/{task}/children").read_text().split()
        except OSError:
            continue
        for pid in children:
            try:
                stat = Path(f"/proc/{pid}/stat").read_text()
            except OSError:
                continue
            if stat.rsplit(")", 1)[1].split()[0] != "Z":
                out.append(f"{pid} {stat.split('(', 1)[1].rsplit(')', 1)[0]}")
    return out


def _jail_cgroups() -> list[str]:
    found = []
    for parent in Path("/sys/fs/cgroup").glob(f"**/{GROUP_NAME}"):
        found += [str(p) for p in parent.iterdir() if p.is_dir()]
    return found


@contextmanager
def nothing_left_behind(tmp: Path):
    """Run a batch with ``tmp`` as everyone's temporary folder; afterwards assert that it left no
    IPC objects, no processes (orphans come back to this process, a subreaper meanwhile), no files
    in ``tmp``, no jail cgroups."""
    libc = ctypes.CDLL(None, use_errno=True)
    ipc_before, cgroups_before = _sysv_objects(), set(_jail_cgroups())
    libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    try:
        with pytest.MonkeyPatch.context() as env:
            env.setenv("TMPDIR", str(tmp))
            env.setattr(tempfile, "tempdir", str(tmp))
            yield
        left = {
            "System V IPC objects": sorted(_sysv_objects() - ipc_before),
            "processes": _living_children(),
            "files in the temporary folder": sorted(p.name for p in tmp.iterdir()),
            "cgroups": sorted(set(_jail_cgroups()) - cgroups_before),
        }
        assert not any(left.values()), f"the batch left things behind on the host: {left}"
    finally:
        libc.prctl(PR_SET_CHILD_SUBREAPER, 0, 0, 0, 0)
        while True:  # reap what came back to us
            try:
                if os.waitpid(-1, os.WNOHANG)[0] == 0:
                    break
            except ChildProcessError:
                break


@pytest.fixture(scope="session")
def pilot_course(tmp_path_factory):
    """A released pilot week: ``(Course, samples)`` with every sample graded once."""
    if sandbox_unavailable_reason():
        pytest.skip(sandbox_unavailable_reason())
    from grader.course import Course
    from grader.generate import generate
    from grader.parallel import grade_many
    from grader.sample_class import build_class

    course = Course.at(make_course(tmp_path_factory.mktemp("pilot"), [PILOT]))
    generate(course, [PILOT])
    only = [s for s in os.environ.get(ONLY_ENV, "").split(",") if s]
    samples = build_class(course, PILOT, only=only or None)
    home = tmp_path_factory.mktemp("home")
    with pytest.MonkeyPatch.context() as env, nothing_left_behind(tmp_path_factory.mktemp("tmp")):
        env.setenv("GRADER_CELL_TIMEOUT", "45")  # hostile loops end sooner; the pilot's cells finish well within it
        env.setenv("HOME", str(home))            # grading must leave $HOME untouched
        outcomes = grade_many(course, PILOT, [s.student for s in samples], workers=2, progress=False)
    assert list(home.iterdir()) == [], f"grading wrote into $HOME: {list(home.iterdir())}"
    return course, {s.student: s for s in samples}, {o["student"]: o for o in outcomes}
