"""The goldens (expected outputs of the visible checks, stored as data) are up to date with
the reference answers, ship with the library, and hold data only."""
import zipfile

import numpy as np
import pytest

from course_helpers import ROOT
from grader.bundle import BUNDLE_NAME, bundle_files
from grader.course import Course
from grader.goldens import golden_weeks, write_goldens
from utils.checks.stored import GOLDENS_DIR, golden_path, load_goldens

COURSE = Course.at(ROOT)
WEEKS = golden_weeks(COURSE)


def test_the_weeks_that_need_goldens_have_them():
    assert {"week2_resnet", "week5_transformer", "week6_vit"} <= set(WEEKS)
    assert sorted(p.stem for p in GOLDENS_DIR.glob("*.npz")) == sorted(WEEKS), \
        "a .npz without golden_cases, or golden_cases without a .npz: run python -m grader goldens"


@pytest.mark.parametrize("week", WEEKS)
def test_goldens_are_up_to_date(week, tmp_path):
    """Regenerating from solutions/<week> gives the committed file (else: python -m grader goldens <week>)."""
    (fresh_path,) = write_goldens(COURSE, [week], tmp_path)
    with np.load(fresh_path, allow_pickle=False) as fresh, np.load(golden_path(week), allow_pickle=False) as stored:
        assert sorted(fresh.files) == sorted(stored.files), f"{week}: the stored keys differ; run python -m grader goldens {week}"
        for key in fresh.files:
            a, b = fresh[key], stored[key]
            assert a.shape == b.shape and a.dtype == b.dtype, f"{week}: {key} changed shape or dtype"
            if a.dtype.kind in "fc":
                assert np.allclose(a, b, rtol=0, atol=1e-6, equal_nan=True), f"{week}: {key} is stale"
            else:
                assert np.array_equal(a, b), f"{week}: {key} is stale"


@pytest.mark.parametrize("week", WEEKS)
def test_goldens_hold_plain_arrays(week):
    with zipfile.ZipFile(golden_path(week)) as zf:
        assert all(name.endswith(".npy") for name in zf.namelist())
    values = load_goldens(week)  # allow_pickle=False: no objects inside
    assert values and all(v.dtype != object for v in values.values())


def test_goldens_ship_in_the_bundle():
    names = set(bundle_files(COURSE))
    for week in WEEKS:
        assert f"{BUNDLE_NAME}/utils/checks/goldens/{week}.npz" in names


def test_goldens_are_package_data():
    import tomllib

    data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert "goldens/*.npz" in data.get("utils.checks", [])
