# truthset: the two commands that matter are `make demo` and `make test`.
PYTHON ?= python3
VENV ?= .venv
PORT ?= 8000

.PHONY: demo test venv lint typecheck bench clean

$(VENV)/.installed: pyproject.toml
	bash scripts/venv.sh $(VENV) demo
	touch $@

venv: $(VENV)/.installed

## Start the server with a seeded demo workspace on the embedded SQLite store.
demo: venv
	$(VENV)/bin/truthset demo --port $(PORT)

## Install what the tests need (system packages too), start PostgreSQL and S3, run everything.
test:
	bash scripts/test.sh

lint: venv
	$(VENV)/bin/ruff check src tests benchmarks
	$(VENV)/bin/ruff format --check src tests benchmarks

typecheck: venv
	$(VENV)/bin/mypy

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache test-artifacts
