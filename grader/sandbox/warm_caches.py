"""What every jail would otherwise rebuild for itself on each start, built once by the trusted side.

A jail starts from nothing of its own: a fresh tmpfs home and no writable view of the
code it runs. Two things were therefore rebuilt in every jail, twice per submission (the
rendering kernel and the hidden-check worker each import matplotlib and ``utils``):

- matplotlib's font list (``fontlist-v*.json`` in ``MPLCONFIGDIR``): found by scanning
  the fonts the jail can see, about 0.15 s of CPU per jail. ``font_cache_seed()`` builds
  it once per process in a jail of its own that runs only this module's fixed script (no
  student code, nothing read from a submission) and hands it back as text; every jail is
  then seeded with a private copy in its own home (``JailedProcess(seed=...)``). A
  student's code may change or delete its copy; no other jail ever reads it.
- the bytecode of exposed source packages (``utils`` in a source checkout, where nothing
  wrote ``__pycache__``, e.g. under ``PYTHONDONTWRITEBYTECODE``): Python compiled every
  module in memory, about 0.05 s of CPU per jail. ``precompile()`` writes it once, from the
  trusted process, next to the sources, which the jail sees read-only: the jail can use
  it and never write it. Python checks each file against its source's timestamp, so an
  edited module is simply compiled again.

Both are only speed-ups: when one cannot be made (no matplotlib, a read-only checkout) the
jails build or compile what they need themselves, as before.
"""
from __future__ import annotations

import compileall
import functools
import json
import sys
import threading
from pathlib import Path
from typing import Iterable

from .jail import JAIL_HOME, SandboxUnavailable, run
from .limits import Limits

MPL_DIR = f"{JAIL_HOME}/.matplotlib"  # MPLCONFIGDIR in every jail (jail.jail_environment)
FONT_LIST_SCRIPT = f"""
import json, os, sys
import matplotlib.font_manager  # builds the font list in MPLCONFIGDIR
found = {{}}
for name in sorted(os.listdir({MPL_DIR!r})):
    if name.startswith("fontlist-") and name.endswith(".json"):
        with open(os.path.join({MPL_DIR!r}, name), encoding="utf-8") as fh:
            found[name] = fh.read()
sys.stdout.write(json.dumps(found))
"""
BUILD_LIMITS = Limits(wall_seconds=120.0, cpu_seconds=60)
_font_lock, _compile_lock = threading.Lock(), threading.Lock()  # building the font list starts a jail


@functools.lru_cache(maxsize=1)
def _font_cache() -> tuple[tuple[str, bytes], ...]:
    try:
        result = run([sys.executable, "-I", "{base}/font_list.py"], files={"font_list.py": FONT_LIST_SCRIPT},
                     limits=BUILD_LIMITS)
        found = json.loads(result.stdout) if result.returncode == 0 else {}
    except (SandboxUnavailable, OSError, ValueError):
        return ()
    if not isinstance(found, dict):
        return ()
    return tuple((f"{MPL_DIR}/{name}", text.encode()) for name, text in found.items()
                 if isinstance(name, str) and isinstance(text, str) and name.startswith("fontlist-")
                 and name.endswith(".json") and "/" not in name)


def font_cache_seed() -> dict[str, bytes]:
    """``{path in the jail: content}``: matplotlib's font list as a fresh jail builds it (empty
    when it cannot be built); for ``JailedProcess(seed=...)``. Built once per process."""
    with _font_lock:
        return dict(_font_cache())


@functools.lru_cache(maxsize=None)
def _precompiled(path: str) -> bool:
    try:
        return bool(compileall.compile_dir(path, quiet=2, workers=1))
    except OSError:
        return False


def precompile(paths: Iterable[Path]) -> None:
    """Write the bytecode of the source packages among ``paths`` (directories holding an
    ``__init__.py``) next to their sources, once per process; silently leaves what cannot be
    written (a read-only install already has its bytecode)."""
    for path in paths:
        if (Path(path) / "__init__.py").is_file():
            with _compile_lock:
                _precompiled(str(path))
