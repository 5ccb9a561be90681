# The README's two commands: `make run` (the main job) and `make test` (the test suite).
# Both create the virtual environment and install everything on first use (scripts/setup.sh).
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.safexp-installed

.PHONY: run test setup bench clean

setup: $(STAMP)

$(STAMP): scripts/setup.sh pyproject.toml $(wildcard plugins/*/pyproject.toml)
	bash scripts/setup.sh $(VENV)
	touch $@

run: setup
	$(BIN)/safexp demo

test: setup
	$(BIN)/python -m pytest -q

bench: setup
	$(BIN)/python -W ignore benchmarks/env_speed.py

clean:
	rm -rf $(VENV) runs
