"""A term on nbgrader's exchange, as a JupyterHub course runs it, with real Unix users.

An instructor (an ordinary user) and two students are made with ``useradd``; every step runs
as its user (``runuser``), with a local exchange directory standing in for the hub's
``/srv/nbgrader/exchange``:

    instructor  python -m grader generate; nbgrader release_assignment
    students    nbgrader fetch_assignment; answer (one right, one partly); nbgrader submit
    instructor  nbgrader collect; python -m grader autograde (the jail, rootless);
                python -m grader export; python -m grader feedback; nbgrader release_feedback
    students    nbgrader fetch_feedback: each reads their own page, nobody else's

The due date and late policy sit in the course's ``nbgrader_config.py`` (``grader.course.deadlines``):
the due date falls between the two submissions, so the right answer arrives late and loses the
configured points, in the grade table and on its feedback page. Needs root (to make users);
skips otherwise.
"""
from __future__ import annotations

import csv
import os
import pwd
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import nbformat
import pytest
from course_helpers import make_course
from unix_users import NEEDED, reopen_closed_dirs

from grader.sandbox import sandbox_unavailable_reason

ROOT = Path(__file__).resolve().parents[2]
WEEK = "week4_attention"
COURSE = "dl-architectures"
PENALTY = 3.0  # points per started hour late
BIN = Path(sys.executable).parent

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0, reason="making the instructor's and students' Unix users needs root"),
    pytest.mark.skipif(any(shutil.which(t) is None for t in NEEDED), reason=f"needs {', '.join(NEEDED)}"),
    pytest.mark.skipif(sandbox_unavailable_reason() is not None, reason=f"no sandbox: {sandbox_unavailable_reason()}"),
]


class Term:
    """The users, their homes, the exchange and the course root of one term."""

    def __init__(self, base: Path):
        tag = os.getpid() % 100000
        self.base = base
        self.instructor, self.ontime, self.late = f"gxi{tag}", f"gxs{tag}a", f"gxs{tag}b"
        self.exchange = base / "exchange"
        self.course = base / "instructor" / "course"
        self.reopen = reopen_closed_dirs([BIN, Path(os.path.realpath(sys.executable)), Path(sys.prefix), Path(sys.base_prefix), ROOT])

    def home(self, user: str) -> Path:
        return self.base / user

    def run(self, user: str, cmd: str, cwd: Path | None = None, check: bool = True) -> subprocess.CompletedProcess:
        """``cmd`` (a shell line) as ``user`` in ``cwd`` (default: the user's home)."""
        # A fresh environment, as a login gives (nothing of this test process's own environment but GRADER_*).
        keep = " ".join(f"{k}={shlex.quote(v)}" for k, v in os.environ.items() if k.startswith("GRADER_"))
        line = (f"exec runuser -u {user} -- env -i HOME={self.home(user)} USER={user} PATH={BIN}:/usr/bin:/bin "
                f"LANG=C.UTF-8 PYTHONDONTWRITEBYTECODE=1 TMPDIR={self.home(user)} {keep} "
                f"sh -c 'cd {cwd or self.home(user)} && {cmd}'")
        done = subprocess.run(["unshare", "--mount", "--propagation", "private", "sh", "-c", f"set -e\n{self.reopen}\n{line}"],
                              capture_output=True, text=True, timeout=600)
        if check:
            assert done.returncode == 0, f"as {user}: {cmd}\n{(done.stdout + done.stderr)[-5000:]}"
        return done


@pytest.fixture(scope="module")
def term():
    base = Path(tempfile.mkdtemp(prefix="grader-exchange-"))
    os.chmod(base, 0o755)
    t = Term(base)
    users = [t.instructor, t.ontime, t.late]
    try:
        for user in users:
            subprocess.run(["useradd", "--home-dir", str(t.home(user)), "--create-home", "--shell", "/bin/sh",
                            "--user-group", user], check=True, capture_output=True)
            os.chmod(t.home(user), 0o700)  # as on a hub: nobody reads another's home
        yield t
    finally:
        for user in users:
            try:
                uid = pwd.getpwnam(user).pw_uid
            except KeyError:
                continue
            subprocess.run(["pkill", "-KILL", "-U", str(uid)], capture_output=True)
            subprocess.run(["userdel", "--remove", user], capture_output=True)
        shutil.rmtree(base, ignore_errors=True)


def write_config(t: Term, due: str | None) -> None:
    """The course's nbgrader_config.py: the one place for the exchange, the due date and the late policy."""
    lines = ["from grader.nbgrader_setup.config import apply_course_config", "c = get_config()", "apply_course_config(c)",
             f"c.Exchange.root = {str(t.exchange)!r}",
             'c.AssignLatePenalties.plugin_class = "grader.course.deadlines.SubtractPerHour"',
             f"c.SubtractPerHour.points_per_hour = {PENALTY}"]
    if due:
        lines.append(f"c.DueDates.due = {{{WEEK!r}: {due!r}}}")
    path = t.course / "nbgrader_config.py"
    path.write_text("\n".join(lines) + "\n")
    shutil.chown(path, t.instructor, t.instructor)


def answer(t: Term, student: str, answers: dict) -> None:
    """The student's fetched notebook with ``answers`` typed into its answer cells."""
    from grader.demo.sample_class import with_answers

    path = t.home(student) / WEEK / "attention.ipynb"
    nb = with_answers(nbformat.read(path, as_version=4), answers)
    nbformat.write(nb, path)
    shutil.chown(path, student, student)


def test_a_term_on_the_exchange(term):
    from grader.demo.sample_class import mutants

    t = term
    (t.course.parent).mkdir()
    make_course(t.base / "tmp-course", [WEEK])
    shutil.move(t.base / "tmp-course" / "course-root", t.course)
    t.exchange.mkdir()
    os.chmod(t.exchange, 0o777)  # what the hub's admin does once for /srv/nbgrader/exchange
    write_config(t, due=None)
    subprocess.run(["chown", "-R", f"{t.instructor}:{t.instructor}", str(t.course.parent)], check=True)
    os.chmod(t.course.parent, 0o700)
    for student in (t.ontime, t.late):  # the hub's site-wide config, here per student
        config = t.home(student) / ".jupyter" / "nbgrader_config.py"
        config.parent.mkdir()
        config.write_text(f"c = get_config()\nc.Exchange.root = {str(t.exchange)!r}\nc.CourseDirectory.course_id = {COURSE!r}\n")
        subprocess.run(["chown", "-R", f"{student}:{student}", str(config.parent)], check=True)

    # The instructor releases.
    t.run(t.instructor, f"python -m grader generate {WEEK}", t.course)
    t.run(t.instructor, f"nbgrader release_assignment {WEEK}", t.course)

    # The students fetch, answer and submit: the partial answer on time, the right one late.
    for student in (t.ontime, t.late):
        t.run(student, f"nbgrader fetch_assignment {WEEK}")
        assert (t.home(student) / WEEK / "attention.ipynb").is_file()
    sources = solution_answers_for(t)
    answer(t, t.ontime, {**sources, **next(iter(mutants(WEEK).values()))})
    answer(t, t.late, sources)
    t.run(t.ontime, f"nbgrader submit {WEEK}")
    due = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(seconds=1)
    write_config(t, due=due.strftime("%Y-%m-%d %H:%M:%S UTC"))  # the instructor's due date, between the two
    time.sleep(max(0.0, (due - datetime.now(timezone.utc)).total_seconds()) + 0.5)
    t.run(t.late, f"nbgrader submit {WEEK}")

    # Students cannot see each other's submissions in the exchange.
    peek = t.run(t.late, f"ls {t.exchange / COURSE / 'inbound'}", check=False)
    assert peek.returncode != 0 and t.ontime not in peek.stdout

    # The instructor collects, grades in the jail as an ordinary user, and exports.
    collected = t.run(t.instructor, f"nbgrader collect {WEEK}", t.course)
    assert "cheating attempt" not in collected.stdout + collected.stderr
    for student in (t.ontime, t.late):
        assert (t.course / "submitted" / student / WEEK / "timestamp.txt").is_file()
    graded = t.run(t.instructor, f"python -m grader autograde {WEEK}", t.course)
    t.run(t.instructor, "python -m grader export --output grades.csv", t.course)
    rows = {r["student"]: r for r in csv.DictReader(open(t.course / "grades.csv"))}
    assert set(rows) == {t.ontime, t.late}, graded.stdout
    on, late = rows[t.ontime], rows[t.late]
    assert on["status"] == late["status"] == "graded", graded.stdout
    full = float(late["max_score"])
    assert on["submitted"] and late["submitted"] and on["due"] == late["due"] == due.strftime("%Y-%m-%d %H:%M:%S")
    assert on["late"] == "" and float(on["late_penalty"]) == 0.0
    assert 0 < float(on["score"]) < full, on
    assert late["late"].startswith("late 0:00:") and late["late"].endswith(f"-{PENALTY:g} pt"), late
    autograded = full - float(late["to_hand_grade"])  # every autograded point (written answers wait for formgrader)
    assert float(late["to_hand_grade"]) > 0 and float(late["late_penalty"]) == PENALTY, late
    assert float(late["score"]) == autograded - PENALTY, late
    assert late["late"] in graded.stdout  # the printed table shows it too

    # Feedback: written, released, fetched; each student reads their own page only.
    t.run(t.instructor, f"python -m grader feedback {WEEK}", t.course)
    t.run(t.instructor, f"nbgrader release_feedback {WEEK}", t.course)
    pages = {}
    for student in (t.ontime, t.late):
        t.run(student, f"nbgrader fetch_feedback {WEEK}")
        found = sorted((t.home(student) / WEEK / "feedback").rglob("attention.html"))
        assert len(found) == 1, found
        pages[student] = found[0].read_text()
    assert "on time" in pages[t.ontime] and "Late penalty" not in pages[t.ontime]
    assert f"Late penalty: {PENALTY:g} point(s)" in pages[t.late]
    assert f"Late submission penalty (Score: -{PENALTY:g}" in pages[t.late]  # nbgrader's own line, from the gradebook
    other = next((t.home(t.late) / WEEK / "feedback").rglob("attention.html"))
    for path in (other, t.exchange / COURSE / "feedback", t.course / "feedback" / t.late / WEEK / "attention.html"):
        denied = t.run(t.ontime, f"cat {path} || ls {path}", check=False)
        assert denied.returncode != 0 and "Hidden checks" not in denied.stdout, f"{t.ontime} could read {path}"


def solution_answers_for(t: Term) -> dict:
    """The reference answers, code and written, from the instructor's solutions (read as root, to type them in)."""
    from grader.course import Course
    from grader.demo.sample_class import model_answers, solution_answers

    course = Course(t.course)  # not Course.at: that would leave root-owned state in the course
    return {**solution_answers(course, WEEK), **model_answers(course, WEEK)}


class Inbound:
    """A course root and an exchange whose inbound folder the test fills as students could (as root,
    chowning each folder to its maker: the system users ``daemon`` and ``bin`` play two students);
    ``collect()`` runs plain ``nbgrader collect`` in the course root, as the instructor does."""

    def __init__(self, tmp_path: Path):
        self.tmp = tmp_path
        self.course, exchange = tmp_path / "course", tmp_path / "exchange"
        self.inbound = exchange / COURSE / "inbound"
        self.inbound.mkdir(parents=True)
        (self.course / "solutions" / WEEK).mkdir(parents=True)
        self.secret = self.course / "solutions" / WEEK / "attention.ipynb"
        self.secret.write_text("the instructor's solution")
        (self.course / "nbgrader_config.py").write_text(
            "from grader.nbgrader_setup.config import apply_course_config\nc = get_config()\napply_course_config(c)\n"
            f"c.Exchange.root = {str(exchange)!r}\n")

    def plant(self, name: str, owner: str, notebook: str | None = None, link: Path | None = None, when: str = "",
              file_name: str = "attention.ipynb", timestamp: str | None = None) -> None:
        when = when or ("2030-01-01 00:00:00.000000" if name != owner else "2026-12-01 10:00:00.000000")
        folder = self.inbound / f"{name}+{WEEK}+{when} UTC+{owner}"
        folder.mkdir()
        target = folder / file_name
        if link is not None:
            target.symlink_to(link)
        else:
            target.write_text(notebook)
        made = [folder, target]
        if timestamp is not None:
            (folder / "timestamp.txt").write_text(timestamp)
            made.append(folder / "timestamp.txt")
        for path in made:
            os.lchown(path, pwd.getpwnam(owner).pw_uid, -1)

    def collect(self) -> str:
        env = {"PATH": f"{BIN}:/usr/bin:/bin", "HOME": str(self.tmp), "LANG": "C.UTF-8",
               **{k: str(self.tmp / "jupyter" / k.lower()) for k in ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR",
                                                                     "JUPYTER_RUNTIME_DIR", "IPYTHONDIR")}}
        done = subprocess.run([str(BIN / "nbgrader"), "collect", WEEK], cwd=self.course, env=env, capture_output=True,
                              text=True, timeout=300)
        return done.stdout + done.stderr


def test_collect_takes_only_folders_the_student_made_without_links(tmp_path):
    """What a student can plant in the exchange's inbound folder (writable by every student on a hub)
    is refused by ``nbgrader collect`` with the course's config, run by the instructor as usual:

    - a folder named as a classmate's submission, with a newer timestamp (plain nbgrader only warned
      "cheating attempt?" and collected it as the classmate's, replacing their real one);
    - a submission whose notebook is a symbolic link to the solutions (copytree followed it, as the
      instructor, and the solution was graded as the student's own);
    - names with escape sequences, which nbgrader logged as they are on the instructor's terminal."""
    x = Inbound(tmp_path)
    x.plant("daemon", "daemon", notebook="daemon's own work")
    x.plant("daemon", "bin", notebook="bin's notebook, planted as daemon's")
    x.plant("bin", "bin", link=x.secret)
    x.plant("\x1b]0;pwned\x07\x1b[2J", "bin", notebook="a name that retitles and clears the instructor's terminal")
    x.plant("bin", "bin", notebook="x" * 10, when="2026-12-02 10:00:00.000000", file_name="\x1b]0;pwned\x07.ipynb")
    log = x.collect()
    collected = x.course / "submitted"
    assert (collected / "daemon" / WEEK / "attention.ipynb").read_text() == "daemon's own work", log
    assert not (collected / "bin" / WEEK).exists(), log  # nothing else of bin's to collect
    assert "claims to be daemon's submission but is owned by bin" in log and "symbolic link" in log
    assert "\x1b" not in log and "\\x1b]0;pwned" in log  # the planted names are shown, inert
    assert "named with control characters" in log
    assert sorted(p.name for p in collected.iterdir()) == ["daemon"]


def test_a_back_dated_submission_keeps_the_time_the_exchange_received_it(tmp_path):
    """The late penalty reads timestamp.txt, which the student's own process writes: a late student
    wrote yesterday's time into it (or deleted it: no time, no penalty) and was on time. The
    collected copy now says when the exchange received the files (their change time, which no
    student can set); an honest timestamp, seconds before that, is kept as it is."""
    from nbgrader.utils import parse_utc

    now = datetime.now(timezone.utc).replace(tzinfo=None)
    honest = (now - timedelta(seconds=5)).strftime("%Y-%m-%d %H:%M:%S.%f UTC")
    yesterday = (now - timedelta(days=1)).strftime("%Y-%m-%d %H:%M:%S.%f")
    x = Inbound(tmp_path)
    x.plant("daemon", "daemon", notebook="late work", when=yesterday, timestamp=yesterday + " UTC")
    x.plant("bin", "bin", notebook="on time", when=honest[:-4], timestamp=honest)
    log = x.collect()
    submitted = x.course / "submitted"
    kept = parse_utc((submitted / "daemon" / WEEK / "timestamp.txt").read_text())
    assert abs((kept - now).total_seconds()) < 120, (kept, log)
    assert "daemon's submission claims" in log and "reached the exchange" in log
    assert (submitted / "bin" / WEEK / "timestamp.txt").read_text() == honest
