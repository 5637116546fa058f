# duckpipe: `make demo` installs and runs the reference project; `make test` installs and runs every test.
PYTHON ?= python3.11
VENV   ?= .venv
BIN    := $(VENV)/bin

.PHONY: venv demo test lint services bench clean

$(BIN)/duckpipe: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(BIN)/duckpipe

venv: $(BIN)/duckpipe

demo: venv
	cd sql && ../$(BIN)/duckpipe run

lint: venv
	$(BIN)/ruff check duckpipe tests $(wildcard benchmarks)
	$(BIN)/ruff format --check duckpipe tests $(wildcard benchmarks)
	$(BIN)/mypy duckpipe
	$(BIN)/lint-imports --no-cache

services: venv
	$(BIN)/python -m tests.services install

test: lint services
	$(BIN)/pytest

bench: venv services
	$(BIN)/python -m benchmarks

clean:
	rm -rf $(VENV) .duckpipe sql/.duckpipe sql/lake
