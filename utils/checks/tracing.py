"""Count how many lines of the student's own Python code a call runs.

A loop over N samples runs its body N times, so its line count grows with N; code that hands
the whole array to NumPy runs the same few lines whatever N is. Comparing the counts for a
small and a large input tells the two apart without timing anything.
"""
from __future__ import annotations

import os
import sys

import numpy as np

_LIBRARY_DIRS = tuple(os.path.join(os.path.realpath(p), "") for p in
                      {sys.prefix, sys.base_prefix, os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                       os.path.dirname(os.path.dirname(np.__file__))})


def _is_student(filename: str) -> bool:
    """True for code outside the interpreter, installed packages and ``utils`` (notebook cells)."""
    if filename.startswith("<frozen"):
        return False
    return not os.path.realpath(filename).startswith(_LIBRARY_DIRS) if os.path.isabs(filename) else True


def count_lines_where(is_student, fn, args, kwargs):
    """``(fn(*args, **kwargs), lines)``: ``lines`` is the number of line events traced in code whose
    file name ``is_student`` accepts (a loop over N items adds about N; vectorised code adds none
    per item). Raises ``RuntimeError`` if the call switched the count off (``sys.settrace``)."""
    lines = 0

    def trace(frame, event, arg):
        if not is_student(frame.f_code.co_filename):
            return None

        def local(frame, event, arg):
            nonlocal lines
            lines += event == "line"
            return local
        return local(frame, event, arg)

    previous = sys.gettrace()
    sys.settrace(trace)
    try:
        result = fn(*args, **kwargs)
    finally:
        tampered = sys.gettrace() is not trace
        sys.settrace(previous)
    if tampered:
        raise RuntimeError("the line count was switched off during the call (sys.settrace was changed)")
    return result, lines


def count_lines(fn, *args, **kwargs):
    """``count_lines_where`` for notebook code: everything outside the interpreter, installed
    packages and ``utils`` (comprehensions, lambdas and helpers included)."""
    return count_lines_where(_is_student, fn, args, kwargs)
