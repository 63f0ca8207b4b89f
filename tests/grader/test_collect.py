"""``python -m grader collect``: LMS downloads (folders and zips) copied into ``submitted/``.

Real files on disk; the course root is copied solution folders only (no nbgrader, no kernels).
"""
import zipfile

import pytest
from course_helpers import ROOT, make_course

from grader.cli import main
from grader.course.collect import (BAD_ID, DUPLICATE_ID, IGNORED, NAME_CLASH, RENAMED, SEVERAL,
                            UNRECOGNISED, collect)
from grader.course import Course, GraderError
from grader.pipeline.precheck import NotGradable, find_notebook, read_notebook

WEEK = "week4_attention"
GOOD = (ROOT / "solutions" / WEEK / "attention.ipynb").read_bytes()
BROKEN = b'{"cells": [ {"cell_type": "code", "source": "x = 1"'  # cut short: not JSON


@pytest.fixture
def course(tmp_path):
    return Course.at(make_course(tmp_path, [WEEK]))


def write_tree(base, files):
    """``files``: {relative path: bytes}; returns ``base``."""
    for name, data in files.items():
        (base / name).parent.mkdir(parents=True, exist_ok=True)
        (base / name).write_bytes(data)
    return base


def zip_of(path, files):
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return path


def submitted(course, student):
    """``{file name: bytes}`` in the student's submission folder for the week."""
    folder = course.submitted(student, WEEK)
    return {p.name: p.read_bytes() for p in folder.iterdir()} if folder.is_dir() else None


def problems(result):
    return sorted((r.problem, r.student) for r in result.problems)


CANVAS = {
    "lovelaceada_101_9001_attention.ipynb": GOOD,
    "hoppergrace_LATE_102_9002_attention.ipynb": b"grace",
    "liskovbarbara_late_103_9003_attention.ipynb": b"barbara",
    "turingalan_104_9004_attention-1.ipynb": b"alan, second try",
    "knuthdonald_105_9005_Untitled.ipynb": b"donald",
    "babbagecharles_106_9006_attention.ipynb": BROKEN,
}

MOODLE = {
    "Ada Lovelace_12345_assignsubmission_file_/attention.ipynb": GOOD,
    "Grace Hopper_23456_assignsubmission_file_/attention.ipynb": b"grace",
    "Grace Hopper_23456_assignsubmission_file_/report.pdf": b"%PDF",
    "Grace Hopper_23456_assignsubmission_onlinetext_/onlinetext.html": b"<p>hi</p>",
    "Alan Turing_34567_assignsubmission_file_/attention.ipynb": b"alan",
    "Alan Turing_34567_assignsubmission_file_/scratch.ipynb": b"scratch",
    "Alan Turing_34567_assignsubmission_file_/.ipynb_checkpoints/attention-checkpoint.ipynb": b"old",
    "Don Knuth_assignsubmission_file_/attention.ipynb": b"don",
    "Eve Smith_45678_assignsubmission_file_attention.ipynb": b"eve",  # Moodle without folders
    "barbara/attention.ipynb": b"barbara",
}


def test_canvas_files_normal_late_resubmitted_renamed_and_broken(course, tmp_path):
    result = collect(course, WEEK, write_tree(tmp_path / "canvas", CANVAS))
    assert result.students == ["babbagecharles", "hoppergrace", "knuthdonald", "liskovbarbara", "lovelaceada", "turingalan"]
    assert submitted(course, "lovelaceada") == {"attention.ipynb": GOOD}
    assert submitted(course, "hoppergrace") == {"attention.ipynb": b"grace"}
    assert submitted(course, "liskovbarbara") == {"attention.ipynb": b"barbara"}
    assert submitted(course, "turingalan") == {"attention.ipynb": b"alan, second try"}
    assert submitted(course, "knuthdonald") == {"Untitled.ipynb": b"donald"}
    assert submitted(course, "babbagecharles") == {"attention.ipynb": BROKEN}  # byte for byte
    assert problems(result) == [(RENAMED, "knuthdonald")]
    assert not result.ok


def test_moodle_folder_per_student(course, tmp_path):
    result = collect(course, WEEK, write_tree(tmp_path / "moodle", MOODLE))
    assert result.students == ["12345", "23456", "34567", "45678", "DonKnuth", "barbara"]
    assert submitted(course, "12345") == {"attention.ipynb": GOOD}
    assert submitted(course, "23456") == {"attention.ipynb": b"grace"}  # file and onlinetext folders: one student
    assert submitted(course, "34567") == {"attention.ipynb": b"alan", "scratch.ipynb": b"scratch"}
    assert submitted(course, "DonKnuth") == {"attention.ipynb": b"don"}
    assert submitted(course, "45678") == {"attention.ipynb": b"eve"}
    assert submitted(course, "barbara") == {"attention.ipynb": b"barbara"}
    assert problems(result) == [(IGNORED, "23456"), (IGNORED, "23456"), (SEVERAL, "34567")]


def test_a_zip_is_read_like_the_folder(course, tmp_path):
    result = collect(course, WEEK, zip_of(tmp_path / "moodle.zip", MOODLE))
    assert result.students == ["12345", "23456", "34567", "45678", "DonKnuth", "barbara"]
    assert submitted(course, "34567") == {"attention.ipynb": b"alan", "scratch.ipynb": b"scratch"}
    assert problems(result) == [(IGNORED, "23456"), (IGNORED, "23456"), (SEVERAL, "34567")]


def test_a_download_zipped_again_is_read_from_inside_its_folder(course, tmp_path):
    wrapped = {f"submissions/{name}": data for name, data in CANVAS.items()}
    result = collect(course, WEEK, zip_of(tmp_path / "again.zip", wrapped))
    assert "lovelaceada" in result.students and "submissions" not in result.students
    one_student = collect(course, WEEK, write_tree(tmp_path / "one", {"ada/attention.ipynb": b"ada"}))
    assert one_student.students == ["ada"] and one_student.ok


@pytest.mark.parametrize("member", ["../evil.ipynb", "/tmp/evil.ipynb", "ada/../../evil.ipynb"])
def test_a_zip_member_outside_the_archive_is_refused(course, tmp_path, member):
    archive = zip_of(tmp_path / "evil.zip", {"ada/attention.ipynb": GOOD, member: b"evil"})
    with pytest.raises(GraderError, match="outside the archive"):
        collect(course, WEEK, archive)
    assert not (course.root / "submitted").exists()
    assert not list(tmp_path.rglob("evil.ipynb"))


def test_duplicate_ids_are_reported_for_both_and_nothing_is_overwritten(course, tmp_path):
    course.submitted("ada", WEEK).mkdir(parents=True)
    (course.submitted("ada", WEEK) / "attention.ipynb").write_bytes(b"collected last week")
    download = write_tree(tmp_path / "dl", {
        "ada/attention.ipynb": b"one",
        "ada!/attention.ipynb": b"two",       # '!' dropped: also 'ada'
        "ADA/attention.ipynb": b"three",      # same folder on macOS and Windows
        "bob_1_2_attention.ipynb": b"bob",    # Canvas: two namesakes with different user ids
        "bob_3_4_attention.ipynb": b"other bob",
        "carol/attention.ipynb": b"carol",
    })
    result = collect(course, WEEK, download)
    assert result.students == ["carol"]
    assert problems(result) == [(DUPLICATE_ID, "ADA"), (DUPLICATE_ID, "ada"), (DUPLICATE_ID, "ada"),
                                (DUPLICATE_ID, "bob"), (DUPLICATE_ID, "bob")]
    assert submitted(course, "ada") == {"attention.ipynb": b"collected last week"}
    assert submitted(course, "bob") is None


def test_flat_files_not_named_by_an_lms_and_unusable_ids_are_reported(course, tmp_path):
    download = write_tree(tmp_path / "dl", {
        "ada.ipynb": b"ada", "ada_week4.ipynb": b"ada",
        "Ada Lovelace/attention.ipynb": b"ada",   # spaces dropped: AdaLovelace
        "!!!/attention.ipynb": b"nobody",
        "carol/notes.pdf": b"%PDF",
        "dan/attention.ipynb": b"dan", "dan/work/attention.ipynb": b"dan again",
    })
    result = collect(course, WEEK, download)
    assert result.students == ["AdaLovelace"]
    assert sorted(r.problem for r in result.problems) == [BAD_ID, IGNORED, NAME_CLASH, "no_notebook", UNRECOGNISED, UNRECOGNISED]
    assert not (course.root / "submitted" / "ada").exists()
    assert submitted(course, "dan") is None


def test_collecting_again_replaces_only_that_students_week(course, tmp_path):
    collect(course, WEEK, write_tree(tmp_path / "first", {
        "ada/attention.ipynb": b"first", "ada/extra.ipynb": b"extra", "bob/attention.ipynb": b"bob"}))
    other_week = course.root / "submitted" / "ada" / "week1_alexnet"
    write_tree(other_week, {"alexnet.ipynb": b"week 1"})
    result = collect(course, WEEK, write_tree(tmp_path / "second", {"ada/attention.ipynb": b"second"}))
    assert result.students == ["ada"] and result.ok
    assert submitted(course, "ada") == {"attention.ipynb": b"second"}
    assert submitted(course, "bob") == {"attention.ipynb": b"bob"}
    assert (other_week / "alexnet.ipynb").read_bytes() == b"week 1"


def test_the_courses_own_submitted_folder_is_refused(course, tmp_path):
    collect(course, WEEK, write_tree(tmp_path / "dl", {"ada/attention.ipynb": b"ada"}))
    for wrong in (course.root / "submitted", course.root, course.submitted("ada", WEEK)):
        with pytest.raises(GraderError, match="submitted/ folder"):
            collect(course, WEEK, wrong)
    assert submitted(course, "ada") == {"attention.ipynb": b"ada"}


def test_collected_files_are_where_the_grader_reads_them(course, tmp_path):
    collect(course, WEEK, zip_of(tmp_path / "submissions.zip", CANVAS))
    expected = course.notebook_name(WEEK)
    path = find_notebook(course, WEEK, "lovelaceada")
    assert path == course.submitted("lovelaceada", WEEK) / expected
    read_notebook(path)
    with pytest.raises(NotGradable) as broken:
        read_notebook(find_notebook(course, WEEK, "babbagecharles"))
    assert broken.value.status == "invalid_json"
    with pytest.raises(NotGradable) as renamed:
        find_notebook(course, WEEK, "knuthdonald")
    assert renamed.value.status == "renamed_notebook"


def test_cli_reports_and_exits_1_when_something_needs_a_look(course, tmp_path, capsys):
    root = str(course.root)
    assert main(["--root", root, "collect", WEEK, str(zip_of(tmp_path / "ok.zip", {"ada/attention.ipynb": GOOD}))]) == 0
    assert capsys.readouterr().out.startswith("collected 1 student(s)")
    assert main(["--root", root, "collect", WEEK, str(write_tree(tmp_path / "canvas", CANVAS))]) == 1
    out = capsys.readouterr().out
    assert "collected 6 student(s)" in out and f"{RENAMED}: knuthdonald_105_9005_Untitled.ipynb (as knuthdonald)" in out


@pytest.mark.parametrize("week, download, message", [
    ("week9_nothing", "dl", "unknown week"),
    (WEEK, "missing", "does not exist"),
    (WEEK, "empty", "holds no files"),
    (WEEK, "empty.zip", "holds no files"),
    (WEEK, "notes.txt", "neither a folder nor a .zip"),
])
def test_cli_one_line_errors(course, tmp_path, capsys, week, download, message):
    write_tree(tmp_path / "dl", {"ada/attention.ipynb": GOOD, "ada/.DS_Store": b""})
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / ".DS_Store").write_bytes(b"")
    zip_of(tmp_path / "empty.zip", {"__MACOSX/._x": b""})
    (tmp_path / "notes.txt").write_text("hi")
    assert main(["--root", str(course.root), "collect", week, str(tmp_path / download)]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
    assert not (course.root / "submitted").exists()


def test_the_demos_canvas_download_collects_back_byte_for_byte(course, tmp_path):
    from grader.demo import as_canvas_download

    files = {"ada": {"attention.ipynb": GOOD}, "alan": {"attention.ipynb": BROKEN}, "don": {"mine.ipynb": b"don"}}
    for student, named in files.items():
        write_tree(course.submitted(student, WEEK), named)
    archive = as_canvas_download(course, WEEK, list(files), tmp_path / "canvas.zip")
    assert all(submitted(course, s) is None for s in files)  # moved into the zip
    assert sorted(zipfile.ZipFile(archive).namelist()) == [
        "ada_1000_5000_attention-1.ipynb", "alan_1001_5001_attention.ipynb", "don_1002_5002_mine.ipynb"]
    result = collect(course, WEEK, archive)
    assert {s: submitted(course, s) for s in files} == files
    assert problems(result) == [(RENAMED, "don")]


def test_a_symbolic_link_is_never_read_as_a_students_notebook(course, tmp_path):
    """A link in place of a notebook would be read, as the instructor, from wherever it points: the
    solutions, or a classmate's submission. A folder download holding one is refused whole, and a
    linked notebook (or folder) under submitted/, however it got there, is not graded."""
    solution = course.solutions / WEEK / course.notebook_name(WEEK)
    download = write_tree(tmp_path / "dl", {"ada/attention.ipynb": b"ada"})
    (download / "eve").mkdir()
    (download / "eve" / "attention.ipynb").symlink_to(solution)
    with pytest.raises(GraderError, match=r"eve/attention.ipynb is a symbolic link.*nothing was written"):
        collect(course, WEEK, download)
    assert not (course.root / "submitted").exists() or not any((course.root / "submitted").iterdir())

    mallory = course.submitted("mallory", WEEK)
    mallory.mkdir(parents=True)
    (mallory / course.notebook_name(WEEK)).symlink_to(solution)
    trudy = course.submitted("trudy", WEEK)
    trudy.parent.mkdir(parents=True)
    trudy.symlink_to(solution.parent, target_is_directory=True)
    for student in ("mallory", "trudy"):
        with pytest.raises(NotGradable) as linked:
            find_notebook(course, WEEK, student)
        assert linked.value.status == "linked_notebook" and "symbolic link" in linked.value.reason
