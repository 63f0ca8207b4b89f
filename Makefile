# Thin targets over the real tools. Every target sets itself up: the first run
# creates .venv and installs the project into it; later runs reuse it.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
WEEK   ?= week4_attention
# pytest-xdist workers for `make test` / `make test-fast` (CI has 2 cores); tests that share the
# graded pilot class stay on one worker (tests/conftest.py's xdist groups). TEST_WORKERS=0: one process.
TEST_WORKERS ?= 2
XDIST  := $(if $(filter-out 0,$(TEST_WORKERS)),-n $(TEST_WORKERS) --dist loadgroup)
# One BLAS thread per test process (and the kernels it starts): the workers already fill the cores, and
# OpenBLAS threads that spin-wait for a busy core made notebook runs up to three times slower.
TEST_ENV := OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 MKL_NUM_THREADS=1

.PHONY: setup jail-tool test test-fast test-gpu demo lab bench bench-grading release generate autograde feedback export clean

setup: $(STAMP) jail-tool

jail-tool:             ## bubblewrap, the jail graded code runs in: installed with apt-get when run as root
	@command -v bwrap >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "Installing bubblewrap (bwrap), the jail student code is graded in, with apt-get"; \
	    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null; } \
	      || echo "apt-get could not install bubblewrap: grading stops, and the grading tests skip, until it is installed"; \
	  else \
	    echo "NOTE: bubblewrap (bwrap), the jail student code is graded in, is not installed. Install it with"; \
	    echo "      'sudo apt-get install bubblewrap' (Debian/Ubuntu) or 'sudo dnf install bubblewrap' (Fedora)."; \
	    echo "      Until then grading stops with that message and the grading tests skip."; \
	  fi; }

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "Python 3.11 is needed (python3.11 or python3 on PATH)"; exit 1; }
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is needed, found " + sys.version.split()[0]'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

test-fast: setup       ## developers' quick loop: everything but notebooks, grading, servers and training
	$(TEST_ENV) $(PY) -m pytest $(XDIST) -m "not slow" -q

test: setup            ## the whole test suite (what CI runs)
	$(TEST_ENV) $(PY) -m pytest $(XDIST) --durations=10

test-gpu: setup        ## GPU machines: the gpu-marked tests, every week's notebook whole on CUDA (skips without a GPU)
	@if $(PY) -c 'import sys; from utils.backend import cupy_available; sys.exit(not cupy_available())'; then \
		UTILS_DEVICE=cuda $(PY) -m pytest -m gpu -rs --durations=10; \
	else \
		echo "test-gpu: skipped, CuPy cannot reach a GPU here (on a GPU machine: $(PY) -m pip install -e '.[gpu]')"; \
	fi

demo: setup            ## release every week, grade a sample class of submissions, print the grades
	$(PY) -m grader demo

lab: setup             ## students: open the course in JupyterLab, without nbgrader's instructor tools (works as root too)
	$(PY) -m utils.lab course

bench: setup           ## utils against PyTorch on this machine (installs torch==2.13.0); BENCH_ARGS="--device cuda" or "--notebooks"
	$(PY) -m pip install --quiet -e '.[bench]'
	$(PY) -m benchmarks $(BENCH_ARGS)

release: setup         ## the student bundle in release/, verified to hold no instructor material
	$(PY) -m grader bundle --output release

bench-grading: setup   ## the grader (rendering, and --no-render) against plain nbgrader autograde, same class; BENCH_ARGS="--profile"
	$(PY) -m benchmarks.grading $(BENCH_ARGS)

generate: setup        ## instructors: solutions/ -> course/
	$(PY) -m grader generate

autograde: setup       ## instructors: grade submitted/*/$(WEEK)
	$(PY) -m grader autograde $(WEEK)

feedback: setup
	$(PY) -m grader feedback $(WEEK)

export: setup
	$(PY) -m grader export

clean:
	rm -rf $(VENV) .pytest_cache
