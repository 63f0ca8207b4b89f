"""Grading many submissions at once: a local pool by default, or a Dask cluster.

Each submission is one ``grade_submission`` job. Locally, a thread pool keeps
``workers`` jobs in flight (the work itself happens in child processes: nbgrader's
step, the jail, the hidden checks). With ``scheduler="tcp://host:8786"`` the same jobs
go to a Dask distributed cluster whose workers see the course root at the same path
(a shared filesystem) and a gradebook they can all reach (PostgreSQL for a cluster,
through ``GRADER_DB_URL``). A progress bar shows jobs done and the ETA.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor, as_completed

from tqdm.auto import tqdm

from ..course import Course, GraderError
from ..limits import nesting_problems
from ..course.deadlines import sync_due_date
from ..nbgrader_setup.gradebook import require_released
from .submission import grade_submission
from .stage_server import close_all


def grade_many(course: Course, week: str, students: list[str], workers: int = 2, scheduler: str | None = None,
               progress: bool = True, render: bool = True) -> list[dict]:
    """Grade ``students``' submissions of ``week``; returns their outcomes in student order.

    Stops before grading anybody (``GraderError`` with the command to run) when the week is
    not in the gradebook yet, e.g. on a fresh clone before ``python -m grader generate``.
    """
    if not students:
        return []
    problems = nesting_problems()
    if problems:
        raise GraderError("the limits set in the environment do not nest: " + "; ".join(problems)
                          + " (grader/limits.py shows how they nest)")
    require_released(course, week)
    sync_due_date(course, week)  # nbgrader_config.py's due date, into the gradebook before any submission
    bar = tqdm(total=len(students), desc=f"grading {week}", unit="notebook", disable=not progress)
    try:
        if scheduler:
            outcomes = _on_dask(course, week, students, scheduler, bar, render)
        else:
            outcomes = _on_threads(course, week, students, max(1, int(workers)), bar, render)
    finally:
        bar.close()
        close_all()  # this batch's stage servers (one per worker thread)
    return [outcomes[s] for s in students]


def _on_threads(course, week, students, workers, bar, render) -> dict:
    outcomes = {}
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {pool.submit(grade_submission, str(course.root), week, s, render): s for s in students}
        for future in as_completed(futures):
            outcomes[futures[future]] = future.result()
            bar.update(1)
    return outcomes


def _on_dask(course, week, students, scheduler, bar, render) -> dict:
    from distributed import Client, as_completed as dask_completed

    outcomes = {}
    with Client(scheduler) as client:
        futures = {client.submit(grade_submission, str(course.root), week, s, render, key=f"grade-{week}-{s}", pure=False): s for s in students}
        for future in dask_completed(list(futures)):
            outcomes[futures[future]] = future.result()
            bar.update(1)
    return outcomes
