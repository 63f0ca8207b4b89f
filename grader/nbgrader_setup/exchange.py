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

Submission times. The late penalty reads ``timestamp.txt``, which the student's own process
writes (``nbgrader submit``), so a late student could back-date it, or delete it (no time, no
penalty). What the student cannot set is the kernel's change time (``ctime``) of the folder and
its files: it is when the exchange received them. When the claimed time is missing, or earlier
than that by more than ``received_slack`` seconds (a slow copy takes seconds, not minutes), the
collected ``timestamp.txt`` says when the exchange received the submission instead, with a
warning naming the student. Anything that changes the exchange's files afterwards (a ``chmod
-R``, a copy of the whole exchange) also moves their change times: then set
``c.OwnedCollect.trust_timestamps = True``.
"""
from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone

from nbgrader.exchange.default.collect import ExchangeCollect, pwd
from traitlets import Bool, Float

from ..inert import terminal_safe


class OwnedCollect(ExchangeCollect):
    """``nbgrader collect`` for the course: only folders a student made, holding no links, are copied,
    with the time the exchange received them where the student's claimed time cannot be true."""

    received_slack = Float(600.0, help="Seconds a submission's timestamp.txt may precede the change time of its "
                                       "files in the exchange").tag(config=True)
    trust_timestamps = Bool(False, help="Take timestamp.txt as it is (after the exchange's files were changed "
                                        "or copied, which moves their change times)").tag(config=True)

    def do_copy(self, src, dest, log=None):
        super().do_copy(src, dest, log)
        if not self.trust_timestamps:
            self._keep_received_time(src, dest)

    def _keep_received_time(self, src: str, dest: str) -> None:
        """Rewrite the collected ``timestamp.txt`` when it is missing or claims a time well before the
        exchange received the submission (the latest change time of its folder and files)."""
        times = [os.lstat(src).st_ctime] + [os.lstat(os.path.join(folder, name)).st_ctime
                                            for folder, dirs, files in os.walk(src) for name in dirs + files]
        received = datetime.fromtimestamp(max(times), timezone.utc).replace(tzinfo=None)  # naive UTC, as nbgrader's
        claimed = self.coursedir.get_existing_timestamp(dest)
        if claimed is not None and received - claimed <= timedelta(seconds=self.received_slack):
            return
        student = terminal_safe(os.path.basename(src).rsplit("+", 3)[0])
        said = f"claims {claimed}" if claimed is not None else "has no timestamp.txt"
        self.log.warning("%s's submission %s but reached the exchange at %s UTC: that time is kept", student, said,
                         received.strftime("%Y-%m-%d %H:%M:%S"))
        path = os.path.join(dest, "timestamp.txt")
        if os.path.lexists(path):
            os.remove(path)
        with open(path, "w") as fh:
            fh.write(received.strftime("%Y-%m-%d %H:%M:%S.%f UTC"))

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
