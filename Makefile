# Quick start: `make demo` and `make test`. Everything lives in .venv, made here.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test venv clean

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

# Poll the bundled sample feeds into samples/demo.db and print the timeline.
DEMO := env -u TRACKER_DATABASE_URL TRACKER_CONFIG=samples/demo.yaml $(VENV)/bin/tracker
demo: $(STAMP)
	rm -f samples/demo.db samples/demo.db-wal samples/demo.db-shm
	$(DEMO) poll
	$(DEMO) timeline

# Type-check (mypy --strict, settings in pyproject.toml), then the whole suite.
test: $(STAMP)
	$(PY) -m mypy
	$(PY) -m pytest -q -p no:cacheprovider

clean:
	rm -rf $(VENV) samples/demo.db samples/demo.db-wal samples/demo.db-shm .pytest_cache .mypy_cache
