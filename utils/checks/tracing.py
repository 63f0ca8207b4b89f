"""Count how many lines of the student's own Python code a call runs.

A loop over N samples runs its body N times, so its line count grows with N; code that hands
the whole array to NumPy runs the same few lines whatever N is. Comparing the counts for a
small and a large input tells the two apart without timing anything.

A loop cannot leave the count by a one-line trick either. Code made at run time (``exec`` or
``eval`` of a string, ``compile`` or ``code.replace`` under any file name, a library's included)
counts as the student's: an audit hook, installed when this module is first imported (before
a notebook's or a submission's own code runs) and never removable, notes the file name of every
such code object. Threads started with ``threading`` during the call are traced too. A call that
switches tracing or profiling off, even for a moment, or that forks a process, is refused, as is
one that changes the threads' trace. What stays out of reach is code that rewrites this module or
the grader's worker in memory (``python -m grader similarity`` lists submissions that touch them).
"""
from __future__ import annotations

import os
import sys
import threading

import numpy as np

_LIBRARY_DIRS = tuple(os.path.join(os.path.realpath(p), "") for p in
                      {sys.prefix, sys.base_prefix, os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                       os.path.dirname(os.path.dirname(np.__file__))})


_MADE_AT_RUN_TIME: set = set()  # file names of code compiled or renamed after this module was imported
_WATCHED = {"sys.settrace": "sys.settrace was called", "sys.setprofile": "sys.setprofile was called",
            "os.fork": "a process was forked", "os.forkpty": "a process was forked",
            "os.posix_spawn": "a process was started", "subprocess.Popen": "a process was started"}
_counting: list = []  # the counts in progress (``_Count``)


class _Count:
    """One count in progress: its thread, the threads it saw start, and what switched it off."""

    def __init__(self):
        self.owner = threading.get_ident()
        self.started: set = set()
        self.tampered: list = []

    def saw(self, event: str) -> None:
        ident = threading.get_ident()
        if event == "sys.settrace" and ident != self.owner and ident not in self.started:
            self.started.add(ident)  # a new thread's start-up installs threading's trace: ours
        else:
            self.tampered.append(_WATCHED[event])


def _audit(event, args):
    """Process-wide audit hook (cannot be removed): note run-time code, and what switches a count off."""
    if event == "compile" or event == "code.__new__":
        if len(args) > 1 and isinstance(args[1], str) and not (event == "compile" and _is_import(*args[:2])):
            _MADE_AT_RUN_TIME.add(args[1])
    elif event in _WATCHED and _counting:
        for count in list(_counting):
            count.saw(event)


def _is_import(source, filename: str) -> bool:
    """True when ``source`` is the library file ``filename`` itself: the import system compiling a
    module that has no cached bytecode (code compiled under a library's name from other text is not)."""
    if not isinstance(source, bytes) or not os.path.isabs(filename) or _is_student(filename):
        return False
    try:
        with open(filename, "rb") as fh:
            return fh.read() == source
    except OSError:
        return False


def _is_student(filename: str) -> bool:
    """True for code outside the interpreter, installed packages and ``utils`` (notebook cells)."""
    if filename.startswith("<frozen"):
        return False
    return not os.path.realpath(filename).startswith(_LIBRARY_DIRS) if os.path.isabs(filename) else True


sys.addaudithook(_audit)


def count_lines_where(is_student, fn, args, kwargs):
    """``(fn(*args, **kwargs), lines)``: ``lines`` is the number of line events traced in code whose
    file name ``is_student`` accepts, or that was made at run time (a loop over N items adds about
    N; vectorised code adds none per item), in this thread and in threads the call starts.
    Raises ``RuntimeError`` if the call switched the count off (``sys.settrace``, ``sys.setprofile``,
    ``threading.settrace``) or forked a process, whose lines no count can see."""
    lines = 0

    def trace(frame, event, arg):
        name = frame.f_code.co_filename
        if not (is_student(name) or name in _MADE_AT_RUN_TIME):
            return None

        def local(frame, event, arg):
            nonlocal lines
            lines += event == "line"
            return local
        return local(frame, event, arg)

    previous, previous_threads = sys.gettrace(), threading.gettrace()
    count = _Count()
    tampered = count.tampered
    threading.settrace(trace)
    sys.settrace(trace)
    _counting.append(count)  # after our own settrace: from here on, every switch is the call's
    try:
        result = fn(*args, **kwargs)
    finally:
        _counting.remove(count)
        if sys.gettrace() is not trace:
            tampered.append("sys.settrace was changed")
        if threading.gettrace() is not trace:
            tampered.append("threading.settrace was changed")
        sys.settrace(previous)
        threading.settrace(previous_threads)
    if tampered:
        raise RuntimeError(f"the line count was switched off during the call ({tampered[0]})")
    return result, lines


def count_lines(fn, *args, **kwargs):
    """``count_lines_where`` for notebook code: everything outside the interpreter, installed
    packages and ``utils`` (comprehensions, lambdas and helpers included)."""
    return count_lines_where(_is_student, fn, args, kwargs)
