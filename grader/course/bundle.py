"""The student bundle: ``course/``, ``utils/``, environment files and a student README, verified.

``build_bundle`` writes ``release/dl-workbook-student.zip``; ``verify_bundle`` opens it and
fails loudly if anything of the instructor's side is inside: a file from ``solutions/`` or
``grader/``, a gradebook, an nbgrader solution or hidden-test marker, a distinctive line of a
reference solution, or the name of a hidden check.
"""
from __future__ import annotations

import ast
import re
import zipfile
from pathlib import Path

import nbformat

from . import Course, GraderError
from ..pipeline.hidden_checks import CHECKS_ROOT
from ..nbgrader_setup.cells import is_answer_cell

REPO = Path(__file__).resolve().parents[2]
BUNDLE_NAME = "dl-workbook-student"
MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS", "BEGIN MARK SCHEME")
FORBIDDEN_PARTS = ("solutions", "grader", "submitted", "autograded", "feedback", ".grader")
FORBIDDEN_SUFFIXES = (".db", ".db-journal", ".sqlite")

STUDENT_README = """# Deep-learning architectures — student bundle

Ten weekly notebooks in `course/` (your own autograd engine, AlexNet, ResNet, LSTM, attention,
Transformer, ViT, autoencoders and the VAE, GANs, a small CLIP), and `utils/`, the small NumPy
library your models are built from.

## Set up once
Python 3.11 or newer:

    python -m venv .venv
    .venv/bin/pip install -e .          # Windows: .venv\\Scripts\\pip install -e .
    .venv/bin/python -m utils.lab      # JupyterLab on course/ (Windows: .venv\\Scripts\\python -m utils.lab)

With conda instead: `conda env create -f environment.yml`, then `conda activate dl-workbook`.
With an NVIDIA GPU, `pip install -e ".[gpu]"` adds CuPy; `UTILS_DEVICE=cuda` selects it
(the first cell of each notebook prints the device in use).

## Working through a week
- Run the notebook top to bottom first. Cells that need an exercise you have not done stop
  with a red message naming it ("Finish Exercise 2 (causal_mask) first"): that is expected.
- Fill in each `YOUR CODE HERE`, then run the check cell under it. A check names what is
  wrong; it must pass before the training cells further down can work.
- A failing check does not stop "Run All": its table says what is wrong, and the cells that
  need that exercise stop with "Exercise N fails its check; fix it first".
- Before you submit, `.venv/bin/python -m utils.check course/<week>/<name>.ipynb` runs the
  notebook in a fresh kernel and says "ready to submit" only when every check passes, the
  training goal is met and no written answer or quiz letter is left blank.
- The grader runs more checks after you submit (other shapes and edge cases), so a passing
  visible check is necessary, not sufficient.
- Quiz: replace each `"?"` in `quiz_answers` with a letter; its check only sees that every
  question has one. Written answers go in the cells that say `YOUR ANSWER HERE`.
- Each notebook trains its models in about a minute on a laptop CPU. If the kernel gets
  into a strange state, use Kernel > Restart Kernel and Run All Cells.

## Submitting
Submit the notebook under its original name (for example `attention.ipynb`). Leave the
grey read-only cells as they are: the grader restores them from its own copy.
"""

STUDENT_PYPROJECT = """[build-system]
requires = ["setuptools>=68"]
build-backend = "setuptools.build_meta"

[project]
name = "dl-workbook-student"
version = "{version}"
requires-python = ">=3.11"
dependencies = {dependencies}

[project.optional-dependencies]
gpu = ["cupy-cuda12x"]

[tool.setuptools.packages.find]
include = ["utils*"]

[tool.setuptools.package-data]
"utils.checks" = ["goldens/*.npz"]
"""

STUDENT_DEPENDENCIES = ("numpy", "scipy", "matplotlib", "tqdm", "scikit-learn", "jupyterlab", "ipykernel", "ipywidgets")


def student_pyproject() -> str:
    import tomllib

    import utils

    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    deps = [d for d in project["dependencies"] if re.split(r"[<>=!~ ]", d)[0] in STUDENT_DEPENDENCIES]
    return STUDENT_PYPROJECT.format(version=utils.__version__, dependencies=repr(deps).replace("'", '"'))


def student_environment() -> str:
    lines = ["name: dl-workbook", "channels:", "  - conda-forge", "dependencies:", "  - python=3.11", "  - pip", "  - pip:"]
    lines += ["      - -e ."]
    return "\n".join(lines) + "\n"


def bundle_files(course: Course) -> dict[str, bytes]:
    """``{path in the archive: content}`` of everything a student gets."""
    files = {}
    for path in sorted(course.release.rglob("*")):
        if path.is_file() and ".ipynb_checkpoints" not in path.parts:
            files[f"course/{path.relative_to(course.release)}"] = path.read_bytes()
    utils_dir = REPO / "utils"
    for path in sorted(utils_dir.rglob("*.py")) + sorted((utils_dir / "checks" / "goldens").glob("*.npz")):
        files[f"utils/{path.relative_to(utils_dir)}"] = path.read_bytes()
    files["pyproject.toml"] = student_pyproject().encode()
    files["environment.yml"] = student_environment().encode()
    files["README.md"] = STUDENT_README.encode()
    return {f"{BUNDLE_NAME}/{k}": v for k, v in files.items()}


def build_bundle(course: Course, out_dir: Path) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    archive = out_dir / f"{BUNDLE_NAME}.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in bundle_files(course).items():
            info = zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0))  # fixed: the same course gives the same archive
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, content)
    return archive


def _code_part(line: str) -> str:
    """``line`` without a trailing inline comment (``code  # comment``)."""
    return line.split("  #", 1)[0].strip()


def solution_lines(course: Course) -> list[str]:
    """Distinctive lines of the reference answers: lines between the solution markers that
    are long enough to be telling and appear nowhere public (the release notebooks or the
    library outside ``utils/checks``; a public line with another inline comment counts)."""
    public = set()
    for path in course.release.rglob("*.ipynb"):
        for cell in nbformat.read(path, as_version=4).cells:
            public.update(line.strip() for line in cell.source.splitlines())
    for path in (REPO / "utils").rglob("*.py"):
        if "checks" not in path.relative_to(REPO / "utils").parts:
            public.update(line.strip() for line in path.read_text().splitlines())
    public_code = {_code_part(line) for line in public}
    lines = []
    for week in course.weeks():
        nb = nbformat.read(course.solutions / week / course.notebook_name(week), as_version=4)
        for cell in nb.cells:
            if not is_answer_cell(cell):
                continue
            inside = False
            for line in cell.source.splitlines():
                text = line.strip()
                if "BEGIN SOLUTION" in line:
                    inside = True
                elif "END SOLUTION" in line:
                    inside = False
                elif (inside and len(text) >= 30 and not text.startswith("#") and text not in public
                      and _code_part(text) not in public_code):
                    lines.append(text)
    return sorted(set(lines))


def hidden_check_names() -> list[str]:
    names = []
    for path in sorted(CHECKS_ROOT.rglob("test_*.py")):
        tree = ast.parse(path.read_text())
        names += [n.name for n in tree.body if isinstance(n, ast.FunctionDef) and n.name.startswith("test_")]
    return names


def find_leaks(files: dict[str, bytes], secrets: list[str], names: list[str]) -> list[str]:
    leaks = []
    for name, content in files.items():
        parts = Path(name).parts[1:]
        if parts and (parts[0] in FORBIDDEN_PARTS or name.endswith(FORBIDDEN_SUFFIXES)):
            leaks.append(f"{name}: instructor-only file")
            continue
        text = content.decode("utf-8", errors="replace")
        for marker in MARKERS:
            if marker in text:
                leaks.append(f"{name}: contains the nbgrader marker '{marker}'")
        for line in secrets:
            if line in text:
                leaks.append(f"{name}: contains a line of a reference solution: {line[:60]!r}")
        for test in names:
            if re.search(rf"\b{re.escape(test)}\b", text):
                leaks.append(f"{name}: names the hidden check {test}")
    return leaks


def verify_bundle(course: Course, archive: Path) -> None:
    """Raise ``GraderError`` listing every leak found in ``archive``."""
    with zipfile.ZipFile(archive) as zf:
        files = {name: zf.read(name) for name in zf.namelist()}
    leaks = find_leaks(files, solution_lines(course), hidden_check_names())
    if leaks:
        raise GraderError("the student bundle leaks instructor material:\n  " + "\n  ".join(leaks[:20]))
