# Quick start: `make demo` and `make test`. Everything lives in .venv, made here.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test venv clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

# The distribution is news-timeline-tracker; a .venv made when it was called "tracker"
# loses that one first (same command, same package).
$(STAMP): pyproject.toml | $(VENV)/bin/python
	if $(PY) -m pip show tracker >/dev/null 2>&1; then $(PY) -m pip uninstall -q -y tracker; fi
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

# Poll the bundled sample feeds into samples/demo.db and print the timeline.
DEMO := env -u TRACKER_DATABASE_URL TRACKER_CONFIG=samples/demo.yaml $(VENV)/bin/tracker
demo: $(STAMP)
	rm -f samples/demo.db samples/demo.db-wal samples/demo.db-shm
	$(DEMO) poll
	$(DEMO) timeline

# Type-check (mypy --strict, settings in pyproject.toml), then the whole suite. The suite
# includes tests/test_installed.py, the packaging check: it builds the sdist and the wheel
# (python -m build), checks both carry the migrations, installs the wheel with pipx into a
# new virtualenv outside the checkout, and polls the samples with that installed `tracker`
# from a temporary folder (timeline --format json, db current). Needs the package index.
test: $(STAMP)
	$(PY) -m mypy
	$(PY) -m pytest -q -p no:cacheprovider

clean:
	rm -rf $(VENV) samples/demo.db samples/demo.db-wal samples/demo.db-shm .pytest_cache .mypy_cache
