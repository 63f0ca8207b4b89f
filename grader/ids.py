"""Student ids, checked before they name a folder, a status file or an nbgrader student.

An id may hold only ASCII letters, digits, ``.``, ``_`` and ``-``, must not start with
``.`` or ``-`` (a hidden folder, a command-line option) and is at most ``MAX_LENGTH``
long. Everything else is refused with a reason that names the character: nbgrader
expands glob patterns in ids (``*`` is every student) and strips whitespace (``bob ``
is ``bob``), so either would regrade, and zero, somebody else. A letter from another
script that looks like a Latin one (Cyrillic ``а`` in ``bаb``) is named as a look-alike,
since such an id passes for another student's in every list an instructor reads.
"""
from __future__ import annotations

import re
import unicodedata

from .course import GraderError

ALLOWED = re.compile(r"[A-Za-z0-9._-]+")
MAX_LENGTH = 100
RULE = "ids may hold only letters A-Z and a-z, digits, '.', '_' and '-', and may not start with '.' or '-'"
_WORDS = {" ": "a space", "\t": "a tab", "*": "a glob pattern '*'", "?": "a glob pattern '?'", "[": "a glob pattern '['",
          "]": "a glob pattern ']'", "/": "a path separator '/'", "\\": "a path separator '\\'"}


class BadStudentId(GraderError):
    """A student id that must not reach nbgrader or the file system."""


def _describe(char: str) -> str:
    """What ``char`` is, in words an instructor can act on."""
    if char in _WORDS:
        return _WORDS[char]
    if char.isspace():
        return f"whitespace ({unicodedata.name(char, hex(ord(char)))})"
    if unicodedata.category(char).startswith("C"):
        return f"a control character (U+{ord(char):04X})"
    if ord(char) < 128:
        return f"the character {char!r}"
    name = unicodedata.name(char, f"U+{ord(char):04X}")
    latin = _latin_look_alike(char)
    if latin:
        return f"{name} (U+{ord(char):04X}), a look-alike of Latin {latin!r} from another script"
    return f"{name} (U+{ord(char):04X}), not an ASCII letter"


def _latin_look_alike(char: str) -> str | None:
    """The ASCII character ``char`` can pass for, per Unicode's confusables list, or None."""
    from confusable_homoglyphs import confusables

    found = confusables.is_confusable(char, preferred_aliases=["latin"], greedy=True) or []
    for entry in found:
        for glyph in entry.get("homoglyphs", []):
            if len(glyph["c"]) == 1 and ord(glyph["c"]) < 128:
                return glyph["c"]
    return None


def id_problem(student) -> str | None:
    """Why ``student`` is not a usable id, or None when it is one."""
    if not isinstance(student, str) or not student:
        return "the id is empty"
    if len(student) > MAX_LENGTH:
        return f"the id is {len(student)} characters long, over the {MAX_LENGTH} allowed"
    if ALLOWED.fullmatch(student):
        if student[0] in ".-":
            return f"it starts with {student[0]!r}; {RULE}"
        return None
    position, char = next((i, c) for i, c in enumerate(student) if not ALLOWED.fullmatch(c))
    where = "at the start" if position == 0 else "at the end" if position == len(student) - 1 else f"at position {position + 1}"
    return f"it has {_describe(char)} {where}; {RULE}"


def shown(student) -> str:
    """``student`` written so that a terminal or a page shows it as text (escapes visible)."""
    return ascii(student) if isinstance(student, str) else repr(student)


def check_id(student) -> str:
    """``student`` itself if it is a valid id; ``BadStudentId`` with the reason otherwise."""
    problem = id_problem(student)
    if problem:
        raise BadStudentId(f"refusing student id {shown(student)}: {problem}")
    return student


def split_ids(candidates) -> tuple[list[str], list[tuple[str, str]]]:
    """``(valid ids, [(refused id, reason)])`` from ``candidates``, each list in their order."""
    good, bad = [], []
    for student in candidates:
        problem = id_problem(student)
        if problem:
            bad.append((student, problem))
        else:
            good.append(student)
    return good, bad
