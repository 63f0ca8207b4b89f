"""``python -m grader report WEEK``: what the class got wrong, on one HTML page.

Read before the next lecture: the score distribution, how many students earned each
exercise's points and passed each hidden check, the failure messages most students saw (in
the words their feedback uses), and the submissions that could not be graded, with why.
It reads only the status records grading leaves (``grader.pipeline.status``) and the week's source
notebook (for exercise names); the page is one self-contained file (figures embedded as
PNG), readable without a server. Everything a student could have influenced is escaped.
"""
from __future__ import annotations

import base64
import csv
import html
import io
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from ..pipeline import status as status_store
from . import Course, GraderError
from ..pipeline.hidden_checks import hidden_cells

EXERCISE_TITLE = re.compile(r"#\s*Hidden checks for (?P<title>[^:]+):")
NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?", re.IGNORECASE)
MAX_MESSAGES = 15


@dataclass
class CheckTally:
    """One hidden check across the class."""
    name: str
    exercise: str
    passed: int = 0
    ran: int = 0

    @property
    def rate(self) -> float:
        return self.passed / self.ran if self.ran else 0.0


@dataclass
class ExerciseTally:
    """One hidden-test cell (an exercise's points) across the graded submissions."""
    grade_id: str
    title: str
    max_points: float
    full_marks: int = 0
    points: list = field(default_factory=list)

    @property
    def mean_fraction(self) -> float:
        return sum(self.points) / (len(self.points) * self.max_points) if self.points and self.max_points else 0.0


@dataclass
class Mistake:
    """A failure message (numbers blanked for grouping) and the students who saw it."""
    check: str
    example: str
    students: set = field(default_factory=set)


@dataclass
class ClassReport:
    week: str
    graded: list            # [(student, score, max_score)]
    not_gradable: list      # [(student, kind, reason)]
    exercises: list         # [ExerciseTally], in notebook order
    checks: list            # [CheckTally], hardest first
    mistakes: list          # [Mistake], most students first
    similar: list = field(default_factory=list)  # rows of ``grader similarity``'s pairs.csv, when it ran
    late: list = field(default_factory=list)     # [(student, "late 2:03:00, -3 pt")] for late submissions


def exercise_titles(course: Course, week: str) -> dict:
    """``{hidden-test grade id: "Exercise 2"}`` from the source notebook's hidden-test cells."""
    nb = nbformat.read(course.solutions / week / course.notebook_name(week), as_version=4)
    titles = {}
    for cell in nb.cells:
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if gid in hidden_cells(nb):
            found = EXERCISE_TITLE.search(cell.source)
            titles[gid] = found.group("title").strip() if found else gid
    return {gid: titles.get(gid, gid) for gid in hidden_cells(nb)}


def similar_pairs(course: Course, week: str) -> list[dict]:
    """The pairs ``python -m grader similarity WEEK`` flagged (its ``pairs.csv``), or [] when it has not run."""
    table = course.root / "similarity" / week / "pairs.csv"
    if not table.is_file():
        return []
    with open(table, newline="") as fh:
        return list(csv.DictReader(fh))


def late_submissions(course: Course, week: str, students: list) -> list:
    """``[(student, lateness as the grade table words it)]`` for the late ones (``grader.course.deadlines``)."""
    from .deadlines import lateness

    found = ((s, lateness(course, week, s)) for s in students)
    return sorted((s, info.text()) for s, info in found if info.late)


def summarise(course: Course, week: str) -> ClassReport:
    """Tally the status records of ``week`` (submissions whose folder is gone are left out)."""
    course.check_week(week)
    present = set(course.students(week))
    outcomes = [o for o in status_store.load_all(course, week) if o.student in present]
    if not outcomes:
        raise GraderError(f"no graded submissions of {week} yet: run python -m grader autograde {week} first")
    titles = exercise_titles(course, week)
    points = hidden_cells(nbformat.read(course.solutions / week / course.notebook_name(week), as_version=4))
    exercises = {gid: ExerciseTally(gid, titles[gid], points[gid]) for gid in points}
    checks: dict = {}
    mistakes: dict = {}
    graded, not_gradable = [], []
    for o in outcomes:
        if o.status != status_store.GRADED:
            not_gradable.append((o.student, o.kind, o.reason))
            continue
        graded.append((o.student, o.score, o.max_score))
        for gid, cell in o.cells.items():
            tally = exercises.get(gid)
            if tally is None:
                continue
            tally.points.append(cell["score"])
            tally.full_marks += cell["score"] >= tally.max_points - 1e-9
            for test in cell["tests"]:
                check = checks.setdefault(test["name"], CheckTally(test["name"], tally.title))
                check.ran += 1
                check.passed += bool(test["passed"])
                if not test["passed"]:
                    message = (test["message"] or "failed").strip()
                    key = (test["name"], NUMBER.sub("#", message))
                    mistakes.setdefault(key, Mistake(test["name"], message)).students.add(o.student)
    return ClassReport(
        week=week,
        graded=sorted(graded),
        not_gradable=sorted(not_gradable),
        exercises=list(exercises.values()),
        checks=sorted(checks.values(), key=lambda c: (c.rate, c.name)),
        mistakes=sorted(mistakes.values(), key=lambda m: (-len(m.students), m.check))[:MAX_MESSAGES],
        similar=similar_pairs(course, week),
        late=late_submissions(course, week, [o.student for o in outcomes]),
    )


# ---------------------------------------------------------------------- figures
def _png(fig) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def score_histogram(report: ClassReport) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3))
    top = max((m for _, _, m in report.graded), default=1.0) or 1.0
    scores = [s for _, s, _ in report.graded]
    ax.hist(scores, bins=min(20, max(5, int(top))), range=(0, top), color="#4c72b0", edgecolor="white")
    if report.not_gradable:
        ax.bar([0], [len(report.not_gradable)], width=top / 40, color="#cf222e", label="not gradable (0)")
        ax.legend(frameon=False)
    ax.set_xlabel(f"autograded score (of {top:g})")
    ax.set_ylabel("students")
    ax.set_title("Score distribution")
    ax.spines[["top", "right"]].set_visible(False)
    return _png(fig)


def exercise_chart(report: ClassReport) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = [f"{e.title} ({e.grade_id})" for e in report.exercises][::-1]
    rates = [e.full_marks / len(e.points) if e.points else 0.0 for e in report.exercises][::-1]
    means = [e.mean_fraction for e in report.exercises][::-1]
    fig, ax = plt.subplots(figsize=(6, 0.45 * len(names) + 1))
    y = range(len(names))
    ax.barh([i + 0.2 for i in y], means, height=0.4, color="#9ecae1", label="mean share of points")
    ax.barh([i - 0.2 for i in y], rates, height=0.4, color="#3182bd", label="full marks")
    ax.set_yticks(list(y), names)
    ax.set_xlim(0, 1)
    ax.xaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    ax.legend(frameon=False, loc="lower right", fontsize=8)
    ax.set_title("Exercises")
    ax.spines[["top", "right"]].set_visible(False)
    return _png(fig)


# ---------------------------------------------------------------------- the page
def _e(value) -> str:
    return html.escape(str(value), quote=True)


def _table(header, rows) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _percent(x: float) -> str:
    return f"{100 * x:.0f} %"


def render(report: ClassReport) -> str:
    """The report as one HTML page (no scripts; figures inline)."""
    n_graded, n_bad = len(report.graded), len(report.not_gradable)
    scores = sorted(s for _, s, _ in report.graded)
    top = max((m for _, _, m in report.graded), default=0.0)
    median = scores[len(scores) // 2] if scores else 0.0
    summary = (f"{n_graded + n_bad} submissions: {n_graded} graded, {n_bad} not gradable. "
               + (f"Median autograded score {median:g} of {top:g}; mean {sum(scores) / len(scores):.1f}." if scores else ""))
    parts = [f"<h1>{_e(report.week)}: what the class got wrong</h1>", f"<p>{_e(summary)}</p>"]
    if report.graded:
        parts += [f"<img alt='score histogram' src='{score_histogram(report)}'>",
                  "<h2>Exercises</h2>", f"<img alt='exercise pass rates' src='{exercise_chart(report)}'>",
                  _table(["exercise", "cell", "points", "full marks", "mean share of points"],
                         [(_e(e.title), _e(e.grade_id), f"{e.max_points:g}", f"{e.full_marks} / {len(e.points)}",
                           _percent(e.mean_fraction)) for e in report.exercises])]
        parts += ["<h2>Hidden checks, hardest first</h2>",
                  _table(["check", "exercise", "passed", "pass rate"],
                         [(_e(c.name), _e(c.exercise), f"{c.passed} / {c.ran}", _percent(c.rate)) for c in report.checks])]
        parts += ["<h2>Most common mistakes</h2>",
                  "<p>Failure messages as the feedback shows them (numbers may differ between students).</p>",
                  _table(["students", "check", "message (one example)"],
                         [(str(len(m.students)), _e(m.check), f"<code>{_e(m.example)}</code>") for m in report.mistakes])
                  if report.mistakes else "<p>No hidden check failed.</p>"]
    parts.append("<h2>Not gradable</h2>")
    if report.not_gradable:
        kinds = Counter(kind for _, kind, _ in report.not_gradable)
        parts.append("<p>" + _e(", ".join(f"{kind}: {count}" for kind, count in kinds.most_common())) + "</p>")
        parts.append(_table(["student", "kind", "reason"], [(_e(s), _e(k), _e(r)) for s, k, r in report.not_gradable]))
    else:
        parts.append("<p>Every submission was graded.</p>")
    parts.append("<h2>Late submissions</h2>")
    if report.late:
        parts.append(_table(["student", "lateness"], [(_e(s), _e(text)) for s, text in report.late]))
    else:
        parts.append("<p>None (or no due date set: <code>c.DueDates.due</code> in nbgrader_config.py).</p>")
    parts.append("<h2>Similar submissions</h2>")
    if report.similar:
        parts.append("<p>Pairs flagged by <code>python -m grader similarity</code> (its report.html shows the shared code).</p>")
        parts.append(_table(["student", "matches", "share of student's code", "share of the match's code"],
                            [(_e(r.get("student", "")), _e(r.get("matches", "")), _e(r.get("share_of_student", "")),
                              _e(r.get("share_of_match", ""))) for r in report.similar]))
    else:
        parts.append(f"<p>No similarity report yet: <code>python -m grader similarity {_e(report.week)}</code> makes one.</p>")
    style = ("body{font-family:system-ui,sans-serif;max-width:60em;margin:2em auto;color:#222}"
             "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:.3em .6em;text-align:left}"
             "th{background:#f4f4f4}code{white-space:pre-wrap}img{max-width:100%}")
    return ("<!DOCTYPE html><html><head><meta charset='utf-8'>"
            "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; img-src data:; style-src 'unsafe-inline'\">"
            f"<title>{_e(report.week)} class report</title><style>{style}</style></head><body>"
            + "\n".join(parts) + "</body></html>")


def write_report(course: Course, week: str, output: Path | None = None) -> Path:
    """Write ``reports/<week>.html`` (or ``output``) and return its path."""
    path = Path(output) if output else course.root / "reports" / f"{week}.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(summarise(course, week)), encoding="utf-8")
    return path
