"""How nbgrader is configured for this course: one place, used by the CLI and by
the repository's ``nbgrader_config.py`` so plain ``nbgrader`` commands agree with it.

What the settings close (``docs/nbgrader.md`` lists plain nbgrader's gaps):
- student code never runs in nbgrader's own kernel: ``SandboxedExecute`` runs the
  notebook inside the jail (``grader.sandbox``) and hands back only its outputs;
- stderr output (warnings, debug prints) is dropped before scoring, so it cannot
  zero a correct answer;
- deleted test cells are restored and run (``add_missing_cells``, with nbgrader's
  re-insertion fixed in ``RestoreDeletedCells``);
- every cell has a timeout, and the jail puts a wall limit on the whole notebook;
- what the student wrote or printed is stored inert (``grader.inert.InertNotebook``): the
  autograded copy that formgrader and the feedback pages render runs no script;
- ``nbgrader collect`` takes from the exchange only folders the student made, holding no
  symbolic links (``grader.nbgrader_setup.exchange``).
"""
from __future__ import annotations

import os
from pathlib import Path

from .. import limits

COURSE_ID = "dl-architectures"
SOURCE_DIRECTORY = "solutions"
RELEASE_DIRECTORY = "course"


def gradebook_url(course_root: Path) -> str:
    """The gradebook: ``$GRADER_DB_URL`` (any SQLAlchemy URL, e.g. PostgreSQL) or SQLite in the course root."""
    return os.environ.get("GRADER_DB_URL") or f"sqlite:///{Path(course_root).resolve() / 'gradebook.db'}"


def apply_course_config(c, course_root: Path | None = None) -> None:
    """Fill a traitlets ``Config`` (or nbgrader's ``get_config()``) with the course settings."""
    from nbgrader.preprocessors import (
        AssignLatePenalties,
        ClearOutput,
        DeduplicateIds,
        GetGrades,
        IgnorePattern,
        LimitOutput,
        OverwriteKernelspec,
        SaveAutoGrades,
    )

    from ..inert import InertNotebook
    from .preprocessors import CheckCellMetadataOnce, RestoreDeletedCells, SandboxedExecute

    root = Path(course_root or os.getcwd()).resolve()
    c.CourseDirectory.root = str(root)
    c.CourseDirectory.course_id = COURSE_ID
    c.CourseDirectory.source_directory = SOURCE_DIRECTORY
    c.CourseDirectory.release_directory = RELEASE_DIRECTORY
    c.CourseDirectory.db_url = gradebook_url(root)
    c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "*.db", "*.npz"]
    c.Execute.timeout = limits.CELL_TIMEOUT  # per cell; grader/limits.py says how the limits nest
    c.IgnorePattern.enabled = True
    c.IgnorePattern.pattern = r"(?s)."  # drop every stderr output before scoring
    c.OverwriteCells.add_missing_cells = True
    c.Autograde.sanitize_preprocessors = [
        ClearOutput,
        DeduplicateIds,
        OverwriteKernelspec,
        RestoreDeletedCells,
        CheckCellMetadataOnce,
    ]
    # nbgrader's default list also holds nbconvert's ClearMetadataPreprocessor, which never runs:
    # nbconvert preprocessors are off unless ``enabled``, and nbgrader does not enable it. Enabled, it
    # would strip the cells' nbgrader metadata that SaveAutoGrades, formgrader and feedback read, so
    # it is left out; what a student put in metadata is neutralised by InertNotebook instead.
    c.Autograde.autograde_preprocessors = [
        SandboxedExecute,
        IgnorePattern,
        LimitOutput,
        SaveAutoGrades,
        AssignLatePenalties,
        CheckCellMetadataOnce,
        InertNotebook,
    ]
    # Feedback sanitises again as it renders (idempotent): a page never depends on how old its notebook is.
    # nbgrader's default list also holds nbconvert's CSSHTMLHeaderPreprocessor, off for the same reason
    # as ClearMetadataPreprocessor above; the page's styles come from nbgrader's feedback template.
    c.GenerateFeedback.preprocessors = [GetGrades, InertNotebook]
    # ``nbgrader collect`` from a hub's exchange: only a folder the student made, holding no symbolic links
    # (plain nbgrader collects any folder named after a student, and copies what a link points at, as the instructor).
    c.ExchangeFactory.collect = "grader.nbgrader_setup.exchange.OwnedCollect"


def course_config(course_root: Path):
    """A fresh ``Config`` for the course rooted at ``course_root``.

    The course root's own ``nbgrader_config.py`` is read first, as plain ``nbgrader`` reads it
    (the instructor's due dates, late policy and exchange live there), then the course
    settings above are applied over it, so a setting there cannot loosen them.
    """
    from traitlets.config import Config
    from traitlets.config.loader import PyFileConfigLoader

    c = Config()
    own = Path(course_root) / "nbgrader_config.py"
    if own.is_file():
        c.merge(PyFileConfigLoader(own.name, path=str(own.parent)).load_config())
    apply_course_config(c, course_root)
    return c


STATE_DIRS = (
    ("JUPYTER_CONFIG_DIR", "jupyter/config"),
    ("JUPYTER_DATA_DIR", "jupyter/data"),
    ("JUPYTER_RUNTIME_DIR", "jupyter/runtime"),
    ("IPYTHONDIR", "ipython"),
    ("MPLCONFIGDIR", "matplotlib"),
)


def interpreter_bin_first(path: str) -> str:
    """``path`` (a PATH value) with this interpreter's ``bin/`` first: nbgrader's gradebook shells out
    to ``alembic``, which lives there in a virtual environment."""
    import sys

    bin_dir = str(Path(sys.executable).parent)
    parts = path.split(os.pathsep) if path else []
    return path if parts[:1] == [bin_dir] else os.pathsep.join([bin_dir, *parts])


def prepare_process() -> None:
    """The one change the grader makes to its own process's environment: the interpreter's ``bin/``
    first on PATH (see ``interpreter_bin_first``). Nothing else is touched."""
    os.environ["PATH"] = interpreter_bin_first(os.environ.get("PATH", ""))


def state_environment(state_dir: Path, base: dict | None = None) -> dict:
    """The environment for the grader's child processes (nbgrader's step, the hidden checks).

    A copy of ``base`` (default: this process's environment) whose Jupyter, IPython and
    matplotlib dirs point into ``state_dir`` (so nothing lands in $HOME) and whose PATH starts
    with the interpreter's ``bin/``. This process's own environment is left as it is.
    """
    env = dict(os.environ if base is None else base)
    env["PATH"] = interpreter_bin_first(env.get("PATH", ""))
    for var, sub in STATE_DIRS:
        path = Path(state_dir) / sub
        path.mkdir(parents=True, exist_ok=True)
        env[var] = str(path)
    return env
