"""Every limit the grader runs under, in one place, and how they nest.

Time (seconds), each overridable from the environment (a slow machine raises them; the
test suite shortens some for hostile cases). Read once, when a process imports this module.

    rendering one submission (nbgrader's step)         AUTOGRADE_WALL = NOTEBOOK_WALL + NBGRADER_MARGIN
      the notebook in its jail                         NOTEBOOK_WALL   (GRADER_NOTEBOOK_WALL, 900)
        one cell                                       CELL_TIMEOUT    (GRADER_CELL_TIMEOUT, 120)
        the kernel's start                             KERNEL_START (120, in sandbox/_nbrunner.py)
    the hidden checks of one submission (one pytest run)   CHECKS_WALL  (600)
      one jailed worker holding the answers           CHECK_JAIL.wall_seconds (180); a worker killed
                                                       by a timeout is replaced at most CHECK_RESTARTS (2)
                                                       times, so 3 workers x 180 s < CHECKS_WALL
        loading the answers                           CHECK_START     (GRADER_CHECK_START_TIMEOUT, 60)
        one request (a call, a module run)            CHECK_TIMEOUT   (GRADER_CHECK_TIMEOUT, 60)

A limit never exceeds the one it sits in: ``nesting_problems()`` lists the pairs that do (a
test keeps the defaults in order; ``python -m grader autograde`` refuses overrides that break
it). Past a limit, the process tree under it is killed: a cell or the rendering past its limit
is a warning; the checks' limits fail the checks concerned (``timed_out``).

Sizes (bytes):

    one collected download                            MAX_COLLECT_BYTES  (GRADER_MAX_COLLECT_BYTES, 4 GiB)
      one notebook (collect copies, precheck grades)   MAX_NOTEBOOK_BYTES (GRADER_MAX_NOTEBOOK_BYTES, 64 MiB)
    what one jail may write or print per stream       RENDER_JAIL / CHECK_JAIL .output_bytes (16 MiB)
      one output of a rendered cell                    OUTPUT_CAP (100 000 characters, in sandbox/_nbrunner.py)
    one reply across the jail boundary                codec.MAX_BYTES (256 MiB, in sandbox/codec.py)

Per jail (``grader.sandbox.Limits``: CPU seconds, memory, processes, CPUs, open files, tmpfs):
``RENDER_JAIL`` for the notebook, ``CHECK_JAIL`` for each hidden-check worker. The numbers
that live in files copied into the jail (which cannot import this module) are named above.
"""
from __future__ import annotations

import os

from .sandbox.limits import GiB, Limits, MiB


def _env_int(name: str, default: int) -> int:
    return int(os.environ.get(name, default))


# ---------------------------------------------------------------------------- time
CELL_TIMEOUT = _env_int("GRADER_CELL_TIMEOUT", 120)
NOTEBOOK_WALL = _env_int("GRADER_NOTEBOOK_WALL", 900)
NBGRADER_MARGIN = 180          # nbgrader's own work around the notebook run (imports, gradebook)
AUTOGRADE_WALL = NOTEBOOK_WALL + NBGRADER_MARGIN
CHECK_TIMEOUT = _env_int("GRADER_CHECK_TIMEOUT", 60)
CHECK_START = _env_int("GRADER_CHECK_START_TIMEOUT", 60)
CHECK_RESTARTS = 2
CHECKS_WALL = 600

# ---------------------------------------------------------------------------- sizes
MAX_NOTEBOOK_BYTES = _env_int("GRADER_MAX_NOTEBOOK_BYTES", 64 * MiB)
MAX_COLLECT_BYTES = _env_int("GRADER_MAX_COLLECT_BYTES", 4 * GiB)

# ---------------------------------------------------------------------------- jails
RENDER_JAIL = Limits(wall_seconds=NOTEBOOK_WALL, cpu_seconds=NOTEBOOK_WALL)
CHECK_JAIL = Limits(wall_seconds=180.0, cpu_seconds=120)


def nesting_problems() -> list[str]:
    """The limits that do not fit inside the limit they sit in (empty when all nest)."""
    pairs = [
        ("GRADER_CELL_TIMEOUT", CELL_TIMEOUT, "GRADER_NOTEBOOK_WALL", NOTEBOOK_WALL),
        ("GRADER_NOTEBOOK_WALL", NOTEBOOK_WALL, "the autograde step's wall", AUTOGRADE_WALL),
        ("GRADER_CHECK_TIMEOUT", CHECK_TIMEOUT, "a check worker's wall", CHECK_JAIL.wall_seconds),
        ("GRADER_CHECK_START_TIMEOUT", CHECK_START, "a check worker's wall", CHECK_JAIL.wall_seconds),
        ("every check worker's wall together", CHECK_JAIL.wall_seconds * (CHECK_RESTARTS + 1),
         "the hidden checks' wall", CHECKS_WALL),
        ("GRADER_MAX_NOTEBOOK_BYTES", MAX_NOTEBOOK_BYTES, "GRADER_MAX_COLLECT_BYTES", MAX_COLLECT_BYTES),
    ]
    return [f"{inner} ({inner_value:g}) exceeds {outer} ({outer_value:g})"
            for inner, inner_value, outer, outer_value in pairs if inner_value > outer_value]
