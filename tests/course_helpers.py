"""Helpers for tests that need a real course in a temporary folder."""
import os
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# Hostile hidden-check calls loop until a limit stops them: keep that limit short in tests.
# Cells keep the real limit (training cells need it); the hostile class sets its own.
os.environ.setdefault("GRADER_CHECK_TIMEOUT", "15")
os.environ.setdefault("GRADER_NOTEBOOK_WALL", "400")


def make_course(base: Path, weeks) -> Path:
    """A course root under ``base`` holding copies of ``solutions/<week>`` for ``weeks``."""
    root = Path(base) / "course-root"
    for week in weeks:
        shutil.copytree(ROOT / "solutions" / week, root / "solutions" / week)
    return root
