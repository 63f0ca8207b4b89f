"""The goldens (expected outputs of the visible checks, stored as data) are up to date with
the reference answers, ship with the library, and hold data only."""
import os
import platform
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest

from course_helpers import ROOT
from grader.course.bundle import BUNDLE_NAME, bundle_files
from grader.course import Course
from grader.course.goldens import golden_weeks, write_goldens
from utils.checks.stored import GOLDENS_DIR, golden_path, load_goldens

COURSE = Course.at(ROOT)
WEEKS = golden_weeks(COURSE)


def test_the_weeks_that_need_goldens_have_them():
    assert {"week2_resnet", "week5_transformer", "week6_vit"} <= set(WEEKS)
    assert sorted(p.stem for p in GOLDENS_DIR.glob("*.npz")) == sorted(WEEKS), \
        "a .npz without golden_cases, or golden_cases without a .npz: run python -m grader goldens"


# Staleness is judged per array, relative to its largest entry. Regenerating the float32 goldens
# with another BLAS kernel (another CPU, or OPENBLAS_CORETYPE) moves week 5's logits (|x| <= 3) by
# up to 1.6e-6, i.e. 5e-7 of the array's scale; the visible checks accept 1e-5 + 1e-4 * |x| per
# entry. 1e-5 of the scale sits 20x above that noise and 10x below the checks' tolerance, while a
# changed reference answer moves outputs by far more.
STALE_FRACTION = 1e-5

# OpenBLAS's generic x86-64 kernel: every x86-64 CPU can run it, and it sums in another order than
# the kernel picked for this machine, so regenerating with it stands in for "another machine".
OTHER_KERNEL = {"OPENBLAS_CORETYPE": "Prescott"}


def assert_same_goldens(week: str, fresh_path: Path) -> None:
    with np.load(fresh_path, allow_pickle=False) as fresh, np.load(golden_path(week), allow_pickle=False) as stored:
        assert sorted(fresh.files) == sorted(stored.files), f"{week}: the stored keys differ; run python -m grader goldens {week}"
        for key in fresh.files:
            a, b = fresh[key], stored[key]
            assert a.shape == b.shape and a.dtype == b.dtype, f"{week}: {key} changed shape or dtype"
            if a.dtype.kind in "fc":
                scale = float(np.max(np.abs(b), initial=0.0))
                worst = float(np.max(np.abs(a.astype(np.float64) - b), initial=0.0))
                assert worst <= STALE_FRACTION * scale + 1e-12, \
                    f"{week}: {key} is stale (differs by {worst:.3g}, allowed {STALE_FRACTION * scale:.3g}); run python -m grader goldens {week}"
            else:
                assert np.array_equal(a, b), f"{week}: {key} is stale; run python -m grader goldens {week}"


@pytest.mark.parametrize("week", WEEKS)
def test_goldens_are_up_to_date(week, tmp_path):
    """Regenerating from solutions/<week> gives the committed file (else: python -m grader goldens <week>)."""
    (fresh_path,) = write_goldens(COURSE, [week], tmp_path)
    assert_same_goldens(week, fresh_path)


@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"), reason="OPENBLAS_CORETYPE names x86-64 kernels")
def test_goldens_reproduce_with_another_blas_kernel(tmp_path):
    """The staleness test passes on a machine whose BLAS sums in another order (CI's machine may be one)."""
    script = ("import sys; from pathlib import Path; from grader.course import Course; from grader.course.goldens import write_goldens; "
              "write_goldens(Course.at(Path(sys.argv[1])), None, Path(sys.argv[2]))")
    env = {**os.environ, **OTHER_KERNEL}
    run = subprocess.run([sys.executable, "-c", script, str(ROOT), str(tmp_path)], env=env, cwd=ROOT,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    for week in WEEKS:
        assert_same_goldens(week, golden_path(week, tmp_path))


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
