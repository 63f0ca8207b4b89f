"""The student bundle holds what students need and nothing of the instructor's side."""
import zipfile

import pytest

from grader.course.bundle import BUNDLE_NAME, build_bundle, find_leaks, hidden_check_names, solution_lines, verify_bundle
from grader.course import Course, GraderError
from course_helpers import ROOT


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    course = Course.at(ROOT)
    return course, build_bundle(course, tmp_path_factory.mktemp("release"))


def test_bundle_has_the_course_the_library_and_set_up_files(bundle):
    course, archive = bundle
    names = set(zipfile.ZipFile(archive).namelist())
    for week in course.weeks():
        assert f"{BUNDLE_NAME}/course/{week}/{course.notebook_name(week)}" in names
    for needed in ("utils/__init__.py", "utils/nn/conv.py", "pyproject.toml", "environment.yml", "README.md"):
        assert f"{BUNDLE_NAME}/{needed}" in names


def test_bundle_leaks_nothing(bundle):
    course, archive = bundle
    verify_bundle(course, archive)


def test_the_leak_check_can_fail(bundle):
    course, archive = bundle
    secret, hidden = solution_lines(course)[0], hidden_check_names()[0]
    assert find_leaks({f"{BUNDLE_NAME}/course/notes.py": secret.encode()}, [secret], [])
    assert find_leaks({f"{BUNDLE_NAME}/utils/x.py": f"# see {hidden}".encode()}, [], [hidden])
    assert find_leaks({f"{BUNDLE_NAME}/gradebook.db": b""}, [], [])
    assert find_leaks({f"{BUNDLE_NAME}/grader/checks/x.py": b""}, [], [])
    assert find_leaks({f"{BUNDLE_NAME}/course/a.ipynb": b"### BEGIN SOLUTION"}, [], [])
    leaky = archive.parent / "leaky.zip"
    with zipfile.ZipFile(archive) as src, zipfile.ZipFile(leaky, "w") as dst:
        for name in src.namelist():
            dst.writestr(name, src.read(name))
        dst.writestr(f"{BUNDLE_NAME}/course/cheatsheet.txt", secret)
    with pytest.raises(GraderError, match="reference solution"):
        verify_bundle(course, leaky)
