"""Import an LMS download into ``submitted/<student>/<week>/``, the layout the grader reads.

In: a course, a week and a folder or ``.zip`` file as the LMS gave it. Out: the files copied
byte for byte, and a ``Collection`` whose rows say what went where and what needs a look.
Nothing is parsed: a broken notebook arrives broken, for the grader to report.

Layouts. Each entry at the top of the download is read on its own, so layouts may mix:

- **A folder per student** — the folder name is the student id. Moodle names folders
  ``<Full Name>_<number>_assignsubmission_<kind>_``: the text before ``_assignsubmission``
  is used, and where it ends in ``_<digits>`` the id is those digits (Moodle's participant
  number). A student's Moodle ``file`` and ``onlinetext`` folders count as one student.
- **Canvas files at the top** — ``<login>_<userid>_<submissionid>_<name>``, late ones with
  ``_late_`` or ``_LATE_`` after the login. The id is the login (the first field). The late
  mark is kept (``grader.course.deadlines``) and shown in the grade table.
- **Moodle files at the top** — ``<Full Name>_<number>_assignsubmission_<kind>_<name>``,
  the id read as for Moodle folders.
- Any other file at the top (``ada.ipynb``, ``ada_week4.ipynb``) is ambiguous, so it is
  reported as not recognised and not copied: put it in a folder named after the student.

Hidden files and folders (``.ipynb_checkpoints``) and ``__MACOSX`` are skipped. A folder
alone at the top (a download zipped again) is opened, unless it is a student's own folder:
Moodle-named, or holding a notebook directly that is not named the Canvas or Moodle way.

Ids keep only ``A-Z a-z 0-9 . _ -`` (accents dropped) and lose leading dots and hyphens;
an id left empty, or a name with a letter of another script (Cyrillic ``а`` passing for
Latin ``a``), is refused and named (``grader.ids``). Two students whose ids match (ignoring case, as macOS and Windows folders do) are
both reported and neither is copied.

File names. A student's only notebook is written as the week's notebook (``attention.ipynb``)
when its name, without the LMS prefix and without the ``-1``, ``-2`` Canvas appends to a
resubmission, is that name; otherwise it keeps its own name, and the grader will report it
``renamed_notebook``. Several notebooks are all copied under their own names (which one is
meant is not guessed); two with one name (from subfolders), or none at all, are reported and
nothing is copied for that student. Other files are listed as ignored. Collecting a student
replaces that student's ``submitted/<student>/<week>/``; other students and weeks are not
touched.

Links. A folder download holding a symbolic link is refused whole: opening it would read, as
the instructor, whatever it points at (the solutions, a classmate's notebook). (The grader
also refuses to grade a linked notebook under ``submitted/``, however it got there.)

Sizes. A notebook over ``MAX_NOTEBOOK_BYTES`` (unpacked) is reported ``too_large`` and not
copied; a zip that would unpack, or a collection that would write, more than
``MAX_COLLECT_BYTES`` in all is refused whole (a zip bomb) before anything is written.
Sizes are checked from the zip's directory or the folder's listing first, then again
while copying, so a file never grows past what was declared.
"""
from __future__ import annotations

import os
import re
import shutil
import unicodedata
import zipfile
from collections import defaultdict
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from .. import limits
from . import Course, GraderError
from .deadlines import record_lms_late
from ..inert import terminal_safe

CANVAS = re.compile(r"(?P<login>[^_]+)_(?P<late>late_)?(?P<user>\d+)_\d+_(?P<name>.+)", re.IGNORECASE)
MOODLE = re.compile(r"(?P<who>.+?)_assignsubmission_[a-z]+_?(?P<name>.*)", re.IGNORECASE)
CANVAS_COPY = re.compile(r"(?P<stem>.+)-\d+(?P<suffix>\.ipynb)")
SKIPPED = "__MACOSX"

# The problems a row can carry; each needs the instructor's attention.
UNRECOGNISED = "unrecognised"
BAD_ID = "bad_id"
DUPLICATE_ID = "duplicate_id"
NO_NOTEBOOK = "no_notebook"
NAME_CLASH = "name_clash"
RENAMED = "renamed_notebook"
SEVERAL = "several_notebooks"
IGNORED = "ignored_file"
TOO_LARGE = "too_large"


@dataclass(frozen=True)
class Row:
    """One file (or, for a problem of the whole student, one student entry) of the download."""

    source: str        # its path inside the download (a student entry ends with "/")
    student: str = ""  # the id it was read as ("" where none could be read)
    written: str = ""  # the file name written under submitted/<student>/<week>/ ("" if none)
    problem: str = ""  # "" or one of the problem words above
    detail: str = ""   # what happened, for the instructor


@dataclass(frozen=True)
class Collection:
    """What ``collect`` did: every row, and the students whose folders were written."""

    week: str
    students: list[str]
    rows: list[Row]

    @property
    def problems(self) -> list[Row]:
        return [r for r in self.rows if r.problem]

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass
class _Entry:
    """One student's part of the download, before it is checked and copied."""

    label: str
    student: str
    problem: str  # why no id could be read ("" when ``student`` is set)
    canvas: bool
    files: list  # (source path, file name, opener)
    late: bool = False  # the LMS marked a file late (Canvas: ``_late_``)


def collect(course: Course, week: str, download) -> Collection:
    """Copy the notebooks in ``download`` (a folder or ``.zip``) into ``submitted/*/<week>/``.

    Raises ``GraderError`` for an unknown week, a missing, unreadable or empty download, one
    that is or holds ``submitted/``, or a zip member pointing outside the archive (then
    nothing is written).
    """
    week = course.check_week(week)
    expected = course.notebook_name(week)
    download, submitted = Path(download), (course.root / "submitted").resolve()
    where = download.resolve()
    if where == submitted or where in submitted.parents or submitted in where.parents:
        raise GraderError(f"{download} is or holds the course's submitted/ folder: collect from the LMS download")
    with _files(download) as files:
        rows, entries = _entries(_unwrapped(files))
        by_id = defaultdict(list)
        for entry in entries:
            by_id[entry.student.lower()].append(entry)
        planned, late = {}, {}
        for entry in entries:
            twins = [e.label for e in by_id[entry.student.lower()] if e is not entry]
            if twins:
                rows.append(Row(entry.label, entry.student, problem=DUPLICATE_ID,
                                detail=f"{', '.join(twins)} also gives this id; not copied: rename one and collect again"))
                continue
            entry_rows, written = _plan(entry, expected)
            rows.extend(entry_rows)
            if written:
                planned[entry.student] = written
                late[entry.student] = entry.late
        total = sum(source.size for written in planned.values() for source in written.values())
        if total > limits.MAX_COLLECT_BYTES:
            raise GraderError(f"refusing {download}: its notebooks come to {_size(total)}, over the "
                              f"{_size(limits.MAX_COLLECT_BYTES)} one collection may write; nothing was written")
        for student, written in planned.items():
            _write(course.submitted(student, week), written)
            record_lms_late(course, week, student, late[student])
    return Collection(week, sorted(planned), rows)


def report(result: Collection) -> str:
    """A few lines for the terminal: how many students were collected, then each problem."""
    lines = [f"collected {len(result.students)} student(s) into submitted/<student>/{result.week}/"]
    if result.problems:
        lines.append(f"needs attention ({len(result.problems)}):")
        lines += [terminal_safe(f"  {r.problem}: {r.source}{f' (as {r.student})' if r.student else ''}: {r.detail}")
                  for r in result.problems]
    return "\n".join(lines)


# ---------------------------------------------------------------------------- reading
class _Source:
    """One file of the download: ``source()`` opens it; ``size`` is its (declared) unpacked size,
    ``packed`` its size in the zip (None for a folder)."""

    def __init__(self, open_it, size: int, packed: int | None = None):
        self._open, self.size, self.packed = open_it, size, packed

    def __call__(self):
        return self._open()


@contextmanager
def _files(path: Path):
    """``[(parts, source)]`` for every file of a folder or zip, hidden ones left out.

    A zip that would unpack to more than ``MAX_COLLECT_BYTES`` is refused before anything is read.
    """
    if path.is_dir():
        links = sorted(Path(folder) / name for folder, dirs, names in os.walk(path) for name in dirs + names
                       if os.path.islink(os.path.join(folder, name)))
        if links:  # opening it would read, as the instructor, whatever it points at (solutions, a classmate's notebook)
            raise GraderError(f"refusing {path}: {links[0].relative_to(path)} is a symbolic link, not a file of the "
                              "download; collect from the LMS download itself (or its .zip); nothing was written")
        found = [(full.relative_to(path).parts, _Source(lambda full=full: open(full, "rb"), full.stat().st_size))
                 for full in sorted(Path(folder) / name for folder, _, names in os.walk(path) for name in names)]
        yield _kept(path, found)
    elif path.is_file() and path.suffix.lower() == ".zip":
        try:
            archive = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError) as exc:
            raise GraderError(f"cannot read {path} as a zip file: {exc}") from None
        with archive:
            members = [info for info in archive.infolist() if not info.is_dir()]
            unpacked = sum(info.file_size for info in members)
            if unpacked > limits.MAX_COLLECT_BYTES:
                raise GraderError(f"refusing {path}: it would unpack to {_size(unpacked)} from {_size(path.stat().st_size)}, "
                                  f"over the {_size(limits.MAX_COLLECT_BYTES)} a download may hold (a zip bomb?); "
                                  "nothing was written")
            yield _kept(path, [(_member_parts(path, info.filename),
                                _Source(lambda info=info: archive.open(info), info.file_size, info.compress_size))
                               for info in members])
    elif path.exists():
        raise GraderError(f"{path} is neither a folder nor a .zip file")
    else:
        raise GraderError(f"{path} does not exist")


def _size(n: int) -> str:
    """``n`` bytes for a person: ``306 KiB``, ``300 MiB``."""
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= scale:
            return f"{n / scale:.0f} {unit}"
    return f"{n} bytes"


def _kept(path: Path, found: list) -> list:
    found = [(parts, opener) for parts, opener in found if not any(p.startswith(".") or p == SKIPPED for p in parts)]
    if not found:
        raise GraderError(f"{path} holds no files to collect")
    return found


def _member_parts(archive: Path, name: str) -> tuple:
    parts = tuple(p for p in re.split(r"[\\/]", name) if p not in ("", "."))
    if name.startswith(("/", "\\")) or re.match(r"[A-Za-z]:", name) or ".." in parts:
        raise GraderError(f"refusing {archive}: member {name!r} points outside the archive")
    return parts


def _unwrapped(files: list) -> list:
    """``files`` read from inside a folder that is alone at the top and not a student's."""
    tops = {parts[0] for parts, _ in files}
    if len(tops) != 1 or any(len(parts) < 2 for parts, _ in files):
        return files
    top = tops.pop()
    plain_notebook = any(len(parts) == 2 and _is_notebook(parts[1]) and not _flat(parts[1]) for parts, _ in files)
    if MOODLE.fullmatch(top) or plain_notebook:
        return files
    return [(parts[1:], opener) for parts, opener in files]


def _flat(name: str):
    """``(key, label, id text, original name, canvas?)`` for an LMS-named file, else None."""
    m = MOODLE.fullmatch(name)
    if m and m["name"]:
        return ("moodle", m["who"]), _prefix(name, m["name"]), _moodle_id(m["who"]), m["name"], False
    m = CANVAS.fullmatch(name)
    if m:
        return ("canvas", m["login"], m["user"]), _prefix(name, m["name"]), m["login"], m["name"], True
    return None


def _prefix(name: str, original: str) -> str:
    return name[: len(name) - len(original)] + "*"


def _folder(name: str):
    """``(key, label, id text)`` for a student's folder."""
    m = MOODLE.fullmatch(name)
    if m:
        return ("moodle", m["who"]), f"{name}/", _moodle_id(m["who"])
    return ("folder", name), f"{name}/", name


def _moodle_id(who: str) -> str:
    m = re.fullmatch(r".*_(\d+)", who)
    return m[1] if m else who


def _safe_id(text: str) -> tuple[str, str]:
    """``(id, "")`` made of ``text``'s ASCII letters, digits, ``.``, ``_`` and ``-`` (accents
    dropped: ``José`` is ``Jose``), or ``("", why)`` when ``text`` has a letter or digit of
    another script, which could make one student's id look like another's."""
    from ..ids import _describe, id_problem

    plain = "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")
    foreign = next((c for c in plain if ord(c) > 127 and c.isalnum()), None)
    if foreign:
        return "", f"{_describe(foreign)}: not copied; rename the folder (or the LMS account) with ASCII letters"
    student = re.sub(r"[^A-Za-z0-9._-]", "", plain).lstrip(".-")
    if not student:
        return "", "no letter, digit, '.', '_' or '-' to make an id of; not copied"
    problem = id_problem(student)
    return ("", f"{problem}; not copied") if problem else (student, "")


def _entries(files: list) -> tuple[list[Row], list[_Entry]]:
    """Group files by student; rows for the files and names that give no student."""
    rows, entries = [], {}
    for parts, opener in files:
        source = "/".join(parts)
        if len(parts) > 1:
            (key, label, who), name, canvas = _folder(parts[0]), parts[-1], False
        elif flat := _flat(parts[0]):
            key, label, who, name, canvas = flat
        else:
            rows.append(Row(source, problem=UNRECOGNISED, detail="a file at the top must be named the way Canvas or "
                            "Moodle name them; put it in a folder named after the student"))
            continue
        entry = entries.setdefault(key, _Entry(label, *_safe_id(who), canvas, []))
        entry.files.append((source, name, opener))
        entry.late = entry.late or bool(canvas and CANVAS.fullmatch(parts[0])["late"])
    for entry in entries.values():
        if not entry.student:
            rows.append(Row(entry.label, problem=BAD_ID, detail=entry.problem))
    return rows, [e for e in entries.values() if e.student]


# ---------------------------------------------------------------------------- planning and writing
def _is_notebook(name: str) -> bool:
    return name.lower().endswith(".ipynb")


def _plan(entry: _Entry, expected: str) -> tuple[list[Row], dict]:
    """Rows for one student's files, and ``{file name: opener}`` to write (empty: write nothing)."""
    notebooks = [f for f in entry.files if _is_notebook(f[1])]
    rows = [Row(source, entry.student, problem=IGNORED, detail="not a notebook; not copied")
            for source, name, _ in entry.files if not _is_notebook(name)]
    names = [name for _, name, _ in notebooks]
    if not notebooks:
        return rows + [Row(entry.label, entry.student, problem=NO_NOTEBOOK, detail="no .ipynb file; nothing copied")], {}
    clashes = sorted({n for n in names if names.count(n) > 1})
    if clashes:
        return rows + [Row(entry.label, entry.student, problem=NAME_CLASH,
                           detail=f"several files named {', '.join(clashes)}; nothing copied: keep one and collect again")], {}
    too_big = [(source, name, opener) for source, name, opener in notebooks if opener.size > limits.MAX_NOTEBOOK_BYTES]
    if too_big:
        source, name, opener = too_big[0]
        packed = f" from {_size(opener.packed)} in the zip (a zip bomb?)" if opener.packed is not None else ""
        return rows + [Row(source, entry.student, problem=TOO_LARGE,
                           detail=f"{name} would be {_size(opener.size)}{packed}, over the {_size(limits.MAX_NOTEBOOK_BYTES)} "
                           "a notebook may have; nothing copied for this student")], {}
    if len(notebooks) == 1:
        source, name, opener = notebooks[0]
        copy = CANVAS_COPY.fullmatch(name) if entry.canvas else None
        target = expected if name == expected or (copy and copy["stem"] + copy["suffix"] == expected) else name
        problem, detail = ("", "") if target == expected else (RENAMED, f"copied as {name}, not {expected}: the grader will report it renamed")
        return rows + [Row(source, entry.student, target, problem, detail)], {target: opener}
    graded = f"the grader grades {expected}" if expected in names else f"none is {expected}"
    rows.append(Row(entry.label, entry.student, problem=SEVERAL, detail=f"{len(names)} notebooks copied ({', '.join(sorted(names))}); {graded}"))
    rows += [Row(source, entry.student, name) for source, name, _ in notebooks]
    return rows, {name: opener for _, name, opener in notebooks}


def _write(folder: Path, files: dict) -> None:
    """Replace ``folder`` by exactly ``files``, copied byte for byte, none past its declared size."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for name, opener in files.items():
        limit = min(opener.size, limits.MAX_NOTEBOOK_BYTES)
        with opener() as src, open(folder / name, "wb") as dst:
            copied = 0
            while chunk := src.read(min(1 << 20, limit + 1 - copied)):
                copied += len(chunk)
                if copied > limit:
                    dst.close()
                    shutil.rmtree(folder)
                    raise GraderError(f"{name} grew past its declared {_size(opener.size)} while it was copied; "
                                      f"{folder} was removed: collect again")
                dst.write(chunk)
