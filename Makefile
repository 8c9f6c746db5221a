# Quick start: `make demo` and `make test`. Everything lives in .venv, made here.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test venv clean bench

$(VENV)/bin/python:
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip

$(STAMP): pyproject.toml | $(VENV)/bin/python
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

# Poll the bundled sample feeds into demo.db and print the timeline.
demo: $(STAMP)
	rm -f demo.db demo.db-wal demo.db-shm
	TRACKER_DATABASE_URL=sqlite:///demo.db $(VENV)/bin/tracker --config samples/demo.yaml poll
	TRACKER_DATABASE_URL=sqlite:///demo.db $(VENV)/bin/tracker --config samples/demo.yaml timeline

test: $(STAMP)
	$(PY) -m pytest -q -p no:cacheprovider

clean:
	rm -rf $(VENV) demo.db demo.db-wal demo.db-shm .pytest_cache
