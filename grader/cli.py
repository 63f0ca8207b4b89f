"""``python -m grader``: one command per instructor step (and ``check`` for students).

| command | module |
|---|---|
| generate, collect, bundle, export, feedback, report, similarity, goldens, seeds | ``grader/course/<command>.py`` |
| autograde | ``grader/pipeline/batch.py`` (one submission: ``pipeline/submission.py``) |
| render | ``grader/pipeline/render.py`` |
| demo | ``grader/demo/`` |
| check | ``utils/check.py`` (the students' tool) |
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .ids import check_id, shown, split_ids
from .inert import terminal_safe
from .course.similarity import add_command as add_similarity_command


def _course(args):
    from .course import Course

    return Course.at(args.root)


def cmd_generate(args) -> int:
    from .course.generate import generate

    for path in generate(_course(args), args.weeks or None):
        print(f"released {path}")
    return 0


def cmd_collect(args) -> int:
    from .course.collect import collect, report

    result = collect(_course(args), args.week, Path(args.download))
    print(report(result))
    return 0 if result.ok else 1


def cmd_autograde(args) -> int:
    from .course.export import format_table, rows
    from .pipeline.batch import grade_many

    course = _course(args)
    week = course.check_week(args.week)
    if args.student:
        students = [check_id(s) for s in args.student]  # a bad id named on the command line stops the run
        refused = []
    else:
        students, refused = split_ids(course.students(week))
    for folder, problem in refused:
        print(terminal_safe(f"refused folder submitted/{shown(folder)}/{week}/: {problem}; rename it to a valid id "
                            "and grade it with --student"))
    if not students:
        print(f"no submissions for {week} under {course.root / 'submitted'}/<student>/{week}/")
        return 1
    outcomes = grade_many(course, week, students, workers=args.workers, scheduler=args.scheduler, render=args.render)
    graded = {o["student"] for o in outcomes}
    print(format_table([r for r in rows(course, week) if r["student"] in graded]))
    return 1 if refused else 0


def cmd_render(args) -> int:
    from .pipeline.render import render

    course = _course(args)
    students = [check_id(s) for s in args.student] if args.student else None
    done = render(course, args.week, students)
    for student, what in done.items():
        print(terminal_safe(f"{student}: {what}"))
    if not done:
        print(f"nothing to render: every graded submission of {args.week} is rendered (name one with --student)")
    return 0 if all(w == "rendered" for w in done.values()) else 1


def cmd_feedback(args) -> int:
    from .course.feedback import WITHHELD, generate_feedback

    course = _course(args)
    students = [check_id(s) for s in args.student] if args.student else None
    written = generate_feedback(course, args.week, students)
    for student, where in written.items():
        print(terminal_safe(f"{student}: {where}"))
    return 1 if any(str(w).startswith(WITHHELD) for w in written.values()) else 0


def cmd_export(args) -> int:
    from .course.export import format_table, write_csv

    course = _course(args)
    path = Path(args.output)
    table = write_csv(course, path, args.week)
    print(format_table(table))
    print(f"wrote {path} ({len(table)} rows)")
    return 0


def cmd_check(args) -> int:
    from utils.check import main as check_main

    return check_main([args.notebook, "--timeout", str(args.timeout)])


def cmd_bundle(args) -> int:
    from .course.bundle import build_bundle, verify_bundle

    course = _course(args)
    archive = build_bundle(course, Path(args.output))
    verify_bundle(course, archive)
    print(f"wrote {archive}: no solutions, hidden checks, grader files or gradebook inside")
    return 0


def cmd_goldens(args) -> int:
    from .course.goldens import write_goldens

    for path in write_goldens(_course(args), args.weeks or None, Path(args.output) if args.output else None):
        print(f"wrote {path}")
    return 0


def cmd_report(args) -> int:
    from .course.report import write_report

    path = write_report(_course(args), args.week, Path(args.output) if args.output else None)
    print(f"wrote {path}")
    return 0


def cmd_seeds(args) -> int:
    from .course.seeds import check_seeds, summary

    course = _course(args)
    results = {week: check_seeds(course, week, args.seeds) for week in (args.weeks or course.weeks())}
    print()
    for week, runs in results.items():
        print(summary(week, runs))
    missed = [w for w, runs in results.items() if any(r.margin is None or r.margin < 0 for r in runs)]
    if missed:
        print(f"goal missed or run failed in: {', '.join(missed)}")
    return 1 if missed else 0


def cmd_demo(args) -> int:
    from .demo import run_demo

    return run_demo(Path(args.dir), workers=args.workers)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m grader", description=__doc__)
    parser.add_argument("--root", default=".", help="the course root (holds solutions/); default: here")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("generate", help="release solutions/<week> as course/<week> (all weeks by default)")
    p.add_argument("weeks", nargs="*")
    p.set_defaults(func=cmd_generate)

    p = sub.add_parser("collect", help="copy an LMS download (folder or .zip; Canvas, Moodle, a folder per student) "
                       "into submitted/<student>/<week>/; exit 1 if anything needs a look")
    p.add_argument("week")
    p.add_argument("download", help="the downloaded folder or .zip file")
    p.set_defaults(func=cmd_collect)

    p = sub.add_parser("autograde", help="grade submitted/<student>/<week>/ in parallel")
    p.add_argument("week")
    p.add_argument("--student", action="append", help="grade only this student (repeatable)")
    p.add_argument("--workers", type=int, default=2, help="submissions graded at once (default 2)")
    p.add_argument("--scheduler", help="a Dask scheduler address (tcp://host:8786) to grade on a cluster")
    p.add_argument("--no-render", dest="render", action="store_false",
                   help="grade without running the whole notebook for its outputs (faster; points are the same; "
                        "`render` adds the outputs later)")
    p.set_defaults(func=cmd_autograde)

    p = sub.add_parser("render", help="run graded notebooks for their outputs (those graded with --no-render, or whose "
                       "rendering failed); scores stay as they are; exit 1 if one still could not be rendered")
    p.add_argument("week")
    p.add_argument("--student", action="append", help="render only this student (repeatable)")
    p.set_defaults(func=cmd_render)

    p = sub.add_parser("feedback", help="write feedback/<student>/<week>/*.html for graded submissions")
    p.add_argument("week")
    p.add_argument("--student", action="append")
    p.set_defaults(func=cmd_feedback)

    p = sub.add_parser("export", help="write the grade table as CSV, with a status column")
    p.add_argument("--week")
    p.add_argument("--output", default="grades.csv")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("check", help="students: is a notebook ready to submit? (visible checks, training goals, written "
                       "answers; the same as python -m utils.check); exit 1 if not")
    p.add_argument("notebook")
    p.add_argument("--timeout", type=int, default=600, help="seconds allowed per cell")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("report", help="one HTML page on what the class got wrong: score histogram, pass rate of every "
                       "exercise and hidden check, the commonest failure messages, not-gradable reasons")
    p.add_argument("week")
    p.add_argument("--output", help="the HTML file (default: reports/<week>.html)")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("bundle", help="build the student bundle (course/, utils/, environment, README) and verify it leaks nothing")
    p.add_argument("--output", default="release", help="folder for the archive (default: ./release)")
    p.set_defaults(func=cmd_bundle)

    p = sub.add_parser("goldens", help="store the visible checks' expected outputs, computed from the reference answers "
                       "(utils/checks/goldens/<week>.npz; every week whose checks define golden_cases by default)")
    p.add_argument("weeks", nargs="*")
    p.add_argument("--output", help="folder for the .npz files (default: utils/checks/goldens)")
    p.set_defaults(func=cmd_goldens)

    p = sub.add_parser("seeds", help="run each reference notebook to its training goal with several seeds and "
                       "report the metric per seed and the worst margin; exit 1 if a goal is missed")
    p.add_argument("weeks", nargs="*")
    p.add_argument("--seeds", type=int, default=5, help="training runs per week (default 5)")
    p.set_defaults(func=cmd_seeds)

    p = sub.add_parser("demo", help="release, grade a sample class, print grades, write feedback and CSV")
    p.add_argument("--dir", default="demo", help="where the demo course is built (default: ./demo)")
    p.add_argument("--workers", type=int, default=2)
    p.set_defaults(func=cmd_demo)
    add_similarity_command(sub)
    return parser


def main(argv=None) -> int:
    from .course import GraderError

    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except GraderError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
