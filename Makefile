# Thin targets over the real tools. Every target sets itself up: the first run
# creates .venv and installs the project into it; later runs reuse it.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
WEEK   ?= week4_attention

.PHONY: setup test demo lab bench bench-grading release generate autograde feedback export clean

setup: $(STAMP)

$(STAMP): pyproject.toml
	@test -n "$(PYTHON)" || { echo "Python 3.11 is needed (python3.11 or python3 on PATH)"; exit 1; }
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "Python 3.11+ is needed, found " + sys.version.split()[0]'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

test: setup            ## the whole test suite (what CI runs)
	$(PY) -m pytest --durations=10

demo: setup            ## release every week, grade a sample class of submissions, print the grades
	$(PY) -m grader demo

lab: setup             ## students: open the course in JupyterLab
	$(VENV)/bin/jupyter lab course/

bench: setup           ## utils against PyTorch on this machine (installs torch==2.13.0); BENCH_ARGS="--device cuda" or "--notebooks"
	$(PY) -m pip install --quiet -e '.[bench]'
	$(PY) -m benchmarks $(BENCH_ARGS)

release: setup         ## the student bundle in release/, verified to hold no instructor material
	$(PY) -m grader bundle --output release

bench-grading: setup   ## the grader (1 and 2 workers) against plain nbgrader autograde, same class
	$(PY) -m benchmarks.grading

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
