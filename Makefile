# Two commands for a fresh machine with Python 3.11: `make demo` and `make test`.
PYTHON ?= python3.11
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed

.PHONY: demo test lint typecheck bench bench-scale bench-report clean

$(STAMP): pyproject.toml
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "need $(PYTHON) (set PYTHON=python3 if that is 3.11+)"; exit 2; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

## Audit the built-in demo account; reports land in demo-report/ (exit 1/3 = violations/incomplete, expected here).
demo: $(STAMP)
	$(BIN)/audit --demo --output demo-report --stats; code=$$?; \
	  if [ $$code -gt 3 ]; then exit $$code; fi; \
	  echo "demo finished (exit code $$code: see README 'Exit codes'); open demo-report/report.html"

## Run the whole test suite (moto-backed, no AWS access).
test: $(STAMP)
	$(BIN)/python -m pytest -p no:cacheprovider

lint: $(STAMP)
	$(BIN)/ruff check auditor auditor_demo tests bench
	$(BIN)/mypy auditor auditor_demo

bench: $(STAMP)
	$(BIN)/python bench/run.py

bench-scale: $(STAMP)
	$(BIN)/python bench/scale.py

clean:
	rm -rf $(VENV) demo-report .pytest_cache .mypy_cache .ruff_cache

## HTML report at 1,000 and 10,000 endpoints in headless Chromium (needs `pip install playwright` and chromium).
bench-report: $(STAMP)
	$(BIN)/python bench/report.py
