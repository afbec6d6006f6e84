# Two commands matter: `make preflight` and `make test` (`make lint` gates both in CI). Everything they need is
# installed here, pinned.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CHECKOV_VENV := .venv-checkov
WORKFLOW_LINT_VENV := .venv-workflow-lint
CLOUDSPLAINING_VENV := .venv-cloudsplaining
STACK ?=
PREFLIGHT_ARGS ?=

.PHONY: preflight test test-fast lint docs bench install program-env clean

install: $(BIN)/.installed $(CHECKOV_VENV)/.installed $(WORKFLOW_LINT_VENV)/.installed $(CLOUDSPLAINING_VENV)/.installed

$(BIN)/.installed: requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $@

# What `pulumi` itself needs (the deploy runners): the program's environment without the scanners.
program-env: $(BIN)/.installed

# checkov pins libraries Pulumi also pins, at other versions: it gets a virtualenv of its own.
$(CHECKOV_VENV)/.installed: tools/checkov-requirements.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install -q --disable-pip-version-check -r tools/checkov-requirements.txt
	@touch $@

# actionlint and zizmor (wheels that carry their binaries), for the workflow tests: kept out of the program's env.
$(WORKFLOW_LINT_VENV)/.installed: tools/workflow-lint-requirements.txt
	$(PYTHON) -m venv $(WORKFLOW_LINT_VENV)
	$(WORKFLOW_LINT_VENV)/bin/python -m pip install -q --disable-pip-version-check -r tools/workflow-lint-requirements.txt
	@touch $@

# cloudsplaining (the independent privilege-escalation scan of every rendered role) pins boto3 too: its own venv.
$(CLOUDSPLAINING_VENV)/.installed: tools/cloudsplaining-requirements.txt
	$(PYTHON) -m venv $(CLOUDSPLAINING_VENV)
	$(CLOUDSPLAINING_VENV)/bin/python -m pip install -q --disable-pip-version-check -r tools/cloudsplaining-requirements.txt
	@touch $@

preflight: install
	$(BIN)/python -m preflight $(if $(STACK),--stack $(STACK)) $(PREFLIGHT_ARGS)

test: install
	$(BIN)/python -m pytest

# The inner loop: everything but the tests that render whole stacks or run the scanners.
test-fast: install
	$(BIN)/python -m pytest -m "not slow"

# ruff (lint and format) and mypy, configured in pyproject.toml, from the pinned venv.
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

# docs/settings.md, generated from the stack-file schema (a test fails when it is out of date).
docs: install
	$(BIN)/python -m infra.config.settings_doc

bench: install
	$(BIN)/python benchmarks/bench_preflight.py --write docs/benchmarks.md
	$(BIN)/python benchmarks/bench_scanners.py --write docs/benchmarks.md

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) $(WORKFLOW_LINT_VENV) $(CLOUDSPLAINING_VENV)
