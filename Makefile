# Two commands for a fresh machine with Python 3.11: `make demo` and `make test`.
PYTHON ?= python3.11
VENV   ?= .venv
BIN     = $(VENV)/bin
STAMP   = $(VENV)/.installed

.PHONY: demo test lint typecheck bench bench-scale mutation mutation-rules fault-sweep wheel image bench-report clean

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

## Run the whole test suite (moto-backed, no AWS access), one process per core (at most 4: a CPU-quota container
## may show more cores than it may use).
test: $(STAMP)
	$(BIN)/python -m pytest -p no:cacheprovider -n auto --maxprocesses 4

lint: $(STAMP)
	$(BIN)/ruff check auditor auditor_demo tests bench tools
	$(BIN)/mypy auditor auditor_demo

bench: $(STAMP)
	$(BIN)/python bench/run.py

bench-scale: $(STAMP)
	$(BIN)/python bench/scale.py

## Mutation testing (not in `make test`: it reruns tests per mutant). Rule mutants first (~5 s), then code,
## one package at a time: make mutation PKG=auditor.engine (or auditor.remediate, auditor.collect, auditor.scope).
PKG ?= auditor.engine
mutation-rules: $(STAMP)
	$(BIN)/python tools/mutate_rules.py --min-score 95

mutation: mutation-rules
	$(BIN)/python -m pip install --quiet "mutmut>=3.8,<4"
	$(BIN)/mutmut run --max-children 2 "$(PKG)*" || true
	$(BIN)/mutmut results

## Every operation the demo audit calls x {AccessDenied, malformed body, empty body}: no false pass (8-15 min).
fault-sweep: $(STAMP)
	FAULT_SWEEP=full $(BIN)/python -m pytest -p no:cacheprovider -q -s tests/collect/test_fault_sweep.py

## The sdist and the wheel (rules and templates inside) -> dist/; install with: pip install 'dist/sagemaker_auditor-*.whl[demo]'
wheel: $(STAMP)
	rm -rf dist
	$(BIN)/python -m build --no-isolation --outdir dist .

## The container image (Dockerfile; docker, or podman with ENGINE=podman). EXTRAS=demo adds the demo.
ENGINE ?= docker
IMAGE  ?= sagemaker-auditor:$(shell sed -n 's/^__version__ = "\(.*\)"/\1/p' auditor/__init__.py)
image:
	$(ENGINE) build --build-arg EXTRAS="$(EXTRAS)" -t $(IMAGE) .

clean:
	rm -rf $(VENV) demo-report dist .pytest_cache .mypy_cache .ruff_cache mutants

## HTML report at 1,000 and 10,000 endpoints in headless Chromium (needs `pip install playwright` and chromium).
bench-report: $(STAMP)
	$(BIN)/python bench/report.py
