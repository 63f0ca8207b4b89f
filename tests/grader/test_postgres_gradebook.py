"""Grading into a PostgreSQL gradebook (``GRADER_DB_URL``), for a large class.

Runs where a PostgreSQL server is at hand: set ``GRADER_TEST_POSTGRES_URL`` to the URL of an
empty database (its tables are dropped afterwards) and install the ``postgres`` extra. CI does
both: ``.ci/run`` starts a throw-away server on loopback with ``.ci/start-postgres`` (Debian's
package, installed when missing). Elsewhere, and where no server can be started, it skips.
"""
import os

import pytest
from course_helpers import make_course

from grader.sandbox import sandbox_unavailable_reason

URL = os.environ.get("GRADER_TEST_POSTGRES_URL")
WEEK = "week4_attention"

pytestmark = [pytest.mark.skipif(not URL, reason="set GRADER_TEST_POSTGRES_URL to an empty PostgreSQL database"),
              pytest.mark.skipif(bool(sandbox_unavailable_reason()), reason=sandbox_unavailable_reason() or "")]


def test_a_class_grades_into_postgresql_and_exports_from_it(tmp_path, monkeypatch):
    import sqlalchemy
    from nbgrader.api import Base

    from grader.course import Course
    from grader.course.export import rows
    from grader.course.generate import generate
    from grader.pipeline.batch import grade_many
    from grader.demo.sample_class import build_class

    monkeypatch.setenv("GRADER_DB_URL", URL)
    course = Course.at(make_course(tmp_path, [WEEK]))
    try:
        generate(course, [WEEK])
        build_class(course, WEEK, only=["perfect", "partial", "broken-json"])
        outcomes = {o["student"]: o for o in grade_many(course, WEEK, ["perfect", "partial", "broken-json"], workers=2, progress=False)}
        table = {r["student"]: r for r in rows(course, WEEK)}
        assert table["perfect"]["score"] == outcomes["perfect"]["score"] == table["perfect"]["max_score"] - table["perfect"]["to_hand_grade"]
        assert 0 < table["partial"]["score"] < table["perfect"]["score"]
        assert table["broken-json"]["status"] == "not_gradable" and table["broken-json"]["score"] == 0
        assert not (course.root / "gradebook.db").exists(), "the scores went to SQLite, not PostgreSQL"
        engine = sqlalchemy.create_engine(URL)
        with engine.connect() as db:
            assert db.execute(sqlalchemy.text("select count(*) from grade")).scalar() > 0
    finally:
        Base.metadata.drop_all(sqlalchemy.create_engine(URL))
