# Quick start: `make demo` then `make test`. Each sets itself up from Python 3 and the package registries.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
DEMO_OUT ?= demo_output
SEED ?= 1
PYTEST_ARGS ?=

.PHONY: demo test test-all venv clean

venv: $(STAMP)

# the LD-score kernel is C, compiled by the install: a changed source reinstalls
$(STAMP): setup.py constraints.txt stats/ld/_bitplanes.c
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip setuptools wheel
	$(PY) -m pip install --quiet -c constraints.txt -e ".[test]"
	touch $(STAMP)

demo: $(STAMP)
	$(PY) -m analyses.demo --out $(DEMO_OUT) --seed $(SEED)

test: $(STAMP)
	$(PY) -m pytest -m "not gpu" $(PYTEST_ARGS)

# Everything, slow validation included (not run in CI).
test-all: $(STAMP)
	$(PY) -m pytest -m "not gpu" --run-slow $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) $(DEMO_OUT) build *.egg-info .pytest_cache stats/ld/_bitplanes*.so
