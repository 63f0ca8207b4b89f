"""``python -m grader seeds [WEEK ...]``: does each training goal hold for other random seeds?

A notebook's training goal (its ``assert metric >= goal`` after training) must be met by the
reference with room to spare, not by one lucky initialisation. This runs each reference
notebook ``solutions/<week>/`` from the top down to its goal cell once per seed, in a fresh
Jupyter kernel, and reports the metric per seed and the worst margin. A notebook with several
goals (week 7: a reconstruction error, then an ELBO) is run to each of them in turn.

Seed ``s`` shifts every ``np.random.seed(k)`` (initial weights) and every ``seed=k`` passed to
a ``DataLoader`` (shuffling) by ``1000 * s``; seed 0 is the notebook as written. Data sets and
splits keep their own seeds: the task stays the same, the training run changes.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import nbformat

from utils.check import GOAL

from . import Course, GraderError

GLOBAL_SEED = re.compile(r"np\.random\.seed\((?P<k>\d+)\)")
LOADER_SEED = re.compile(r"(?P<call>DataLoader\([^\n]*?\bseed=)(?P<k>\d+)")
SEED_STRIDE = 1000
MARKER = "GOAL_RESULT:"


@dataclass
class SeedRun:
    seed: int
    metric: float | None      # left-hand side of the goal's assert (None: the run failed)
    goal: float | None        # right-hand side
    op: str                   # ">=" or "<="
    error: str = ""
    goal_index: int = 0       # which goal of the notebook (0: the first assert)

    @property
    def margin(self) -> float | None:
        """How far past the goal (positive: met), in the metric's units."""
        if self.metric is None or self.goal is None:
            return None
        return self.metric - self.goal if self.op == ">=" else self.goal - self.metric


def reseed(source: str, seed: int) -> str:
    """``source`` with its training seeds shifted for run ``seed`` (0 leaves it unchanged)."""
    shift = SEED_STRIDE * seed
    source = GLOBAL_SEED.sub(lambda m: f"np.random.seed({int(m['k']) + shift})", source)
    return LOADER_SEED.sub(lambda m: f"{m['call']}{int(m['k']) + shift}", source)


def count_goals(nb) -> int:
    """How many goal asserts the notebook's code cells hold (at most one per cell is read)."""
    return sum(1 for cell in nb.cells if cell.cell_type == "code" and GOAL.search(cell.source))


def goal_notebook(nb, seed: int, goal_index: int = 0):
    """The cells up to goal assert number ``goal_index`` (earlier goals stay asserts), reseeded,
    that assert replaced by a record of both sides, and a last cell printing them; ``None`` when
    the notebook states no such goal."""
    cells = []
    seen = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        source = reseed(cell.source, seed)
        found = GOAL.search(source)
        if found and seen < goal_index:
            seen += 1
        elif found:
            record = f"{found['indent']}__goal__ = (float({found['lhs']}), float({found['rhs']}), {found['op']!r})"
            cells.append(nbformat.v4.new_code_cell(source[:found.start()] + record + source[found.end():]))
            cells.append(nbformat.v4.new_code_cell(f"import json as _json\nprint({MARKER!r} + _json.dumps(__goal__))"))
            out = nbformat.v4.new_notebook(cells=cells)
            out.metadata = nb.metadata
            return out
        cells.append(nbformat.v4.new_code_cell(source))
    return None


def run_seed(notebook: Path, seed: int, cell_timeout: int = 900, goal_index: int = 0) -> SeedRun:
    """Run ``notebook`` to its goal number ``goal_index`` with ``seed`` in a fresh kernel."""
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    nb = goal_notebook(nbformat.read(notebook, as_version=4), seed, goal_index)
    if nb is None:
        raise GraderError(f"{notebook} has no goal to check (no 'assert metric >= goal, ...' line)")
    client = NotebookClient(nb, timeout=cell_timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(notebook.parent.resolve())}},
                            extra_arguments=["--IPKernelApp.log_level=ERROR"])
    try:
        client.execute()
    except CellExecutionError as exc:
        return SeedRun(seed, None, None, "", str(exc).strip().splitlines()[-1][:300], goal_index)
    for output in nb.cells[-1].get("outputs", []):
        text = output.get("text", "")
        if MARKER in text:
            metric, goal, op = json.loads(text.split(MARKER, 1)[1])
            return SeedRun(seed, metric, goal, op, "", goal_index)
    return SeedRun(seed, None, None, "", "the goal cell printed no result", goal_index)


def check_seeds(course: Course, week: str, seeds: int = 5, progress=print) -> list[SeedRun]:
    notebook = course.solutions / week / course.notebook_name(course.check_week(week))
    runs = []
    for goal_index in range(max(1, count_goals(nbformat.read(notebook, as_version=4)))):
        for seed in range(seeds):
            run = run_seed(notebook, seed, goal_index=goal_index)
            progress(describe_run(week, run))
            runs.append(run)
    return runs


def describe_run(week: str, run: SeedRun) -> str:
    week = f"{week} goal {run.goal_index + 1}" if run.goal_index else week
    if run.metric is None:
        return f"{week} seed {run.seed}: failed: {run.error}"
    verdict = "met" if run.margin >= 0 else "MISSED"
    return f"{week} seed {run.seed}: {run.metric:.4f} (goal {run.op} {run.goal:g}, {verdict} by {abs(run.margin):.4f})"


def summary(week: str, runs: list[SeedRun]) -> str:
    """One line per goal: the range of the metric over the seeds and the worst margin."""
    goals = sorted({r.goal_index for r in runs})
    if len(goals) > 1:
        return "\n".join(summary(f"{week} goal {g + 1}", [r for r in runs if r.goal_index == g]) for g in goals)
    metrics = [r.metric for r in runs if r.metric is not None]
    failed = len(runs) - len(metrics)
    if not metrics:
        return f"{week}: every run failed"
    worst = min(r.margin for r in runs if r.margin is not None)
    first = next(r for r in runs if r.metric is not None)
    return (f"{week}: {min(metrics):.4f}-{max(metrics):.4f} over {len(metrics)} seeds (goal {first.op} {first.goal:g}); "
            f"worst margin {worst:+.4f}" + (f"; {failed} runs failed" if failed else ""))
