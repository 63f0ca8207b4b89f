"""nbgrader's ``collect`` from the exchange, refusing what a student can plant in the inbound folder.

On a hub, the exchange's ``inbound`` folder is writable by every student (``nbgrader submit``
makes its folder there), and ``nbgrader collect`` runs as the instructor. Plain nbgrader
0.9.6 trusts what it finds:

- a folder named ``<id>+<assignment>+<timestamp>+<random>`` counts as student ``<id>``'s
  submission whoever made it (a folder owned by someone else only logs "cheating
  attempt?"), and the newest timestamp, a name the student chose, wins: any student could
  have a classmate graded on a notebook of theirs, or have the classmate's real submission
  replaced;
- the folder is copied with ``shutil.copytree``, which follows symbolic links, as the
  instructor: a link named ``attention.ipynb`` pointing at ``solutions/`` (or at a
  classmate's submitted notebook) was collected as the student's own notebook, and graded.

``OwnedCollect`` (set as ``ExchangeFactory.collect`` by ``config.apply_course_config``)
refuses both, with an error in the log naming the folder: a folder not owned by the student
it names (when nbgrader's own ``check_owner`` is on, its default), a student id the grader
would refuse (``grader.ids``), any symbolic link inside, and any file named with control
characters (nbgrader logs the name of a file too large as it is, escape sequences included). A refused folder is never
copied, never hides the same student's real submission, and its name (the student's
choice: escape sequences that retitle or clear the instructor's terminal) is logged inert.
``nbgrader submit`` never makes any of them, so honest submissions are collected exactly as before.
"""
from __future__ import annotations

import os

from nbgrader.exchange.default.collect import ExchangeCollect, pwd

from ..inert import terminal_safe


class OwnedCollect(ExchangeCollect):
    """``nbgrader collect`` for the course: only folders a student made, holding no links, are copied."""

    def _path_to_record(self, path):
        record = super()._path_to_record(path)
        record["refused"] = self._refusal(path, record["username"])
        if record["refused"]:  # the folder's name is the student's choice: shown inert
            self.log.error("Refusing %s: %s", terminal_safe(os.path.basename(path)), terminal_safe(record["refused"]))
        return record

    def _sort_by_timestamp(self, records):
        """Newest first, refused folders left out while the student has any other (their timestamps are
        the student's choice)."""
        acceptable = [r for r in records if not r.get("refused")]
        return super()._sort_by_timestamp(acceptable or records)

    def init_src(self):
        super().init_src()
        self.src_records = [r for r in self.src_records if not r.get("refused")]  # never copied, never logged again

    def _refusal(self, path: str, student_id: str) -> str:
        """Why the inbound folder ``path`` must not be collected as ``student_id``'s, or ''."""
        from ..ids import BadStudentId, check_id

        try:
            check_id(student_id)
        except BadStudentId as exc:
            return f"not a valid student id ({exc})"
        if os.path.islink(path):
            return "it is a symbolic link, not a folder"
        if self.check_owner and pwd is not None:
            uid = os.lstat(path).st_uid
            try:
                owner = pwd.getpwuid(uid).pw_name
            except KeyError:
                owner = f"uid {uid}"
            if owner != student_id:
                return f"it claims to be {student_id}'s submission but is owned by {owner}"
        for folder, dirs, files in os.walk(path):
            for name in dirs + files:
                if os.path.islink(os.path.join(folder, name)):
                    link = os.path.relpath(os.path.join(folder, name), path)
                    return f"it holds a symbolic link ({link}), which would be copied from wherever it points"
                if terminal_safe(name) != name:  # nbgrader logs some file names as they are (a file too large)
                    return f"it holds a file named with control characters ({terminal_safe(name)})"
        return ""
