"""``python -m grader similarity WEEK``: which submissions share code, with each other or with the library.

Delegation (calling the library's answer) is refused while grading; copying the library's
source, or a classmate's, is a question for a person. This command puts the evidence in front
of one: it extracts each submission's answer code (the autograded answer cells, plus the
functions and classes of any cell the student added), removes what the release itself gives
(the stubs' signatures and docstrings, as boilerplate), and lets ``copydetect`` (winnowed
fingerprints of the token stream, so renamed variables and moved code still match) compare
every submission with every other and with the library's own source (``utils/nn``,
``utils/losses.py``, and the reference helpers of ``utils/checks``).

Writes ``similarity/<week>/report.html`` (copydetect's report: every flagged pair with the
shared code highlighted, student code escaped) and ``similarity/<week>/pairs.csv``; prints
the flagged pairs, most similar first. It never changes a grade.
"""
from __future__ import annotations

import csv
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import nbformat

from . import Course, GraderError
from ..nbgrader_setup.cells import is_answer_cell, is_hidden_test_cell, is_readonly_cell
from ..pipeline.answers import definitions_only, strip_magics

LIBRARY_ROOT = Path(__file__).resolve().parents[2] / "utils"
DEFAULT_THRESHOLD = 0.5
SAFE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
# What an answer has no reason to touch: the delegation guard, code objects, module reloading,
# frames; the grader's worker, which runs in the jail as ``__main__`` (replacing its functions
# switches the guard off for every exercise, or forges what it reports), and what any frame or
# object walk reaches it by; the checks' own helpers in ``utils.checks`` (the line count, the
# recorders); switching the line count's tracing off. Listed for a person to read; nothing is
# scored on it.
SUSPICIOUS = ("delegation", "GUARD", "__code__", "__closure__", "importlib", "reload(", "sys.modules", "_getframe",
              "get_referrers", "__globals__", "__main__", "__import__", "f_back", "f_globals", "tb_frame",
              "currentframe", "inspect.stack", "gc.get_objects", "utils.checks", "settrace", "setprofile", "_thread")
LIBRARY_PREFIX = "library__"


@dataclass
class Pair:
    """One flagged pair: ``share_a`` of ``a``'s code is also in ``b`` (and ``share_b`` the other way)."""

    a: str            # a student id
    b: str            # another student id, or "library:<path inside utils>"
    share_a: float
    share_b: float
    tokens: int       # tokens the two have in common

    @property
    def with_library(self) -> bool:
        return self.b.startswith("library:")


@dataclass
class SimilarityResult:
    week: str
    students: list
    skipped: dict     # {folder name: why it was not compared}
    flags: dict       # {student: [suspicious names their answer code mentions]}
    pairs: list       # [Pair], most similar first
    report: Path | None
    table: Path | None


def answer_code(nb) -> str:
    """The code a student wrote: answer cells whole, and definitions from cells they added."""
    parts = []
    for cell in nb.get("cells", []):
        if cell.get("cell_type") != "code" or is_hidden_test_cell(cell):
            continue
        source = strip_magics(cell.get("source", "") if isinstance(cell.get("source"), str) else "".join(cell.get("source", [])))
        if is_answer_cell(cell):
            parts.append(source)
        elif not is_readonly_cell(cell):
            defs = definitions_only(source)
            if defs:
                parts.append(defs)
    return "\n\n".join(p for p in parts if p.strip()) + "\n"


def library_files() -> list[Path]:
    """The library's reference source: its layers, losses and the visible checks' helpers."""
    files = sorted((LIBRARY_ROOT / "nn").glob("*.py")) + [LIBRARY_ROOT / "losses.py"]
    files += sorted(p for p in (LIBRARY_ROOT / "checks").glob("*.py") if p.name.startswith("week"))
    return [p for p in files if p.name != "__init__.py"]


def _read_notebook(folder: Path, name: str):
    path = folder / name
    if not path.is_file():
        return None, f"no {name}"
    try:
        return nbformat.read(path, as_version=4), ""
    except Exception as exc:  # noqa: BLE001 - any unreadable file is reported, not fatal
        return None, f"unreadable notebook ({type(exc).__name__})"


def suspicious_names(code: str) -> list:
    """The entries of ``SUSPICIOUS`` that ``code`` mentions."""
    return [name for name in SUSPICIOUS if name in code]


def prepare(course: Course, week: str, work: Path) -> tuple[list, dict, Path]:
    """Write ``work/submissions/<student>.py``, ``work/library/*.py`` and ``work/boilerplate/release.py``."""
    if work.exists():
        shutil.rmtree(work)
    subs, lib, boiler = work / "submissions", work / "library", work / "boilerplate"
    for d in (subs, lib, boiler):
        d.mkdir(parents=True)
    name = course.notebook_name(week)
    release = course.release / week / name
    if release.is_file():
        (boiler / "release.py").write_text(answer_code(nbformat.read(release, as_version=4)))
    students, skipped = [], {}
    for student in course.students(week):
        if not SAFE_ID.match(student):
            skipped[student] = "the folder name is not a plain student id"
            continue
        nb, why = _read_notebook(course.submitted(student, week), name)
        if nb is None:
            skipped[student] = why
            continue
        code = answer_code(nb)
        if not code.strip():
            skipped[student] = "no answer code"
            continue
        (subs / f"{student}.py").write_text(code)
        students.append(student)
    for path in library_files():
        rel = path.relative_to(LIBRARY_ROOT.parent)
        (lib / (LIBRARY_PREFIX + "__".join(rel.with_suffix("").parts) + ".py")).write_text(path.read_text())
    return students, skipped, work


def _label(path: str) -> str:
    stem = Path(path).stem
    if stem.startswith(LIBRARY_PREFIX):
        return "library:" + "/".join(stem[len(LIBRARY_PREFIX):].split("__")) + ".py"
    return stem


def compare(work: Path, threshold: float, report: Path | None) -> list:
    """Run copydetect over a prepared folder; the pairs whose larger share reaches ``threshold``."""
    try:
        from copydetect import CopyDetector
    except ImportError as exc:  # pragma: no cover - a declared dependency
        raise GraderError("the similarity report needs the copydetect package: pip install copydetect") from exc

    detector = CopyDetector(extensions=["py"], display_t=threshold, autoopen=False, silent=True,
                            out_file=str(report) if report else "./report.html", noise_t=20, guarantee_t=20)
    for path in sorted((work / "submissions").glob("*.py")):
        detector.add_file(str(path), "testref")
    for path in sorted((work / "library").glob("*.py")):
        detector.add_file(str(path), "ref")
    for path in sorted((work / "boilerplate").glob("*.py")):
        detector.add_file(str(path), "boilerplate")
    detector.run()
    pairs, seen = [], set()
    for share_a, share_b, file_a, file_b, _, _, overlap in detector.get_copied_code_list():
        a, b = _label(file_a), _label(file_b)
        key = frozenset((a, b))
        if a == b or key in seen or max(share_a, share_b) < threshold:
            continue
        seen.add(key)
        if a.startswith("library:"):
            a, b, share_a, share_b = b, a, share_b, share_a
        pairs.append(Pair(a, b, float(share_a), float(share_b), int(overlap)))
    pairs.sort(key=lambda p: (-max(p.share_a, p.share_b), p.a, p.b))
    if report is not None and pairs:
        detector.generate_html_report()
    return pairs


def similarity(course: Course, week: str, threshold: float = DEFAULT_THRESHOLD, out_dir: Path | None = None) -> SimilarityResult:
    """Compare every submission of ``week``; write the HTML report and the CSV table under ``out_dir``."""
    week = course.check_week(week)
    out_dir = Path(out_dir or course.root / "similarity" / week)
    out_dir.mkdir(parents=True, exist_ok=True)
    students, skipped, work = prepare(course, week, out_dir / "code")
    flags = {s: found for s in students if (found := suspicious_names((work / "submissions" / f"{s}.py").read_text()))}
    if not students:
        return SimilarityResult(week, [], skipped, flags, [], None, None)
    report = out_dir / "report.html"
    report.unlink(missing_ok=True)
    pairs = compare(work, threshold, report)
    table = out_dir / "pairs.csv"
    with open(table, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["student", "matches", "share_of_student", "share_of_match", "common_tokens"])
        for p in pairs:
            writer.writerow([p.a, p.b, f"{p.share_a:.2f}", f"{p.share_b:.2f}", p.tokens])
    return SimilarityResult(week, students, skipped, flags, pairs, report if report.exists() else None, table)


def format_result(result: SimilarityResult) -> str:
    lines = [f"{result.week}: {len(result.students)} submissions compared with each other and with the library"]
    for student, why in sorted(result.skipped.items()):
        lines.append(f"  not compared: {student!r}: {why}")
    for student, names in sorted(result.flags.items()):
        lines.append(f"  {student} mentions {', '.join(names)}: worth a look (the grader's guard or code objects)")
    if not result.pairs:
        lines.append("  no pair shares enough code to flag")
    for p in result.pairs:
        what = "library source" if p.with_library else "submission"
        lines.append(f"  {p.a:<20} ~ {p.b:<40} {p.share_a:5.0%} of {p.a}'s code is in this {what} "
                     f"({p.share_b:.0%} the other way, {p.tokens} tokens)")
    if result.report:
        lines.append(f"report: {result.report}")
    if result.table:
        lines.append(f"table: {result.table}")
    return "\n".join(lines)


def cmd_similarity(args) -> int:
    result = similarity(Course.at(args.root), args.week, args.threshold, Path(args.output) if args.output else None)
    print(format_result(result))
    return 0


def add_command(sub) -> None:
    """The ``similarity`` subcommand, for ``grader.cli``."""
    p = sub.add_parser("similarity", help="report submissions that share code with each other or with the library "
                       "(HTML report and CSV under similarity/<week>/)")
    p.add_argument("week")
    p.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD,
                   help=f"flag a pair when this share of either side's code is common (default {DEFAULT_THRESHOLD})")
    p.add_argument("--output", help="folder for the report (default: similarity/<week>)")
    p.set_defaults(func=cmd_similarity)
