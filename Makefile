# Two commands matter: `make preflight` and `make test`. Everything they need is installed here, pinned.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
CHECKOV_VENV := .venv-checkov
STACK ?=
PREFLIGHT_ARGS ?=

.PHONY: preflight test bench install clean

install: $(BIN)/.installed $(CHECKOV_VENV)/.installed

$(BIN)/.installed: requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --disable-pip-version-check -r requirements.lock
	$(BIN)/python -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	@touch $@

# checkov pins libraries Pulumi also pins, at other versions: it gets a virtualenv of its own.
$(CHECKOV_VENV)/.installed: tools/checkov-requirements.txt
	$(PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/python -m pip install -q --disable-pip-version-check -r tools/checkov-requirements.txt
	@touch $@

preflight: install
	$(BIN)/python -m preflight $(if $(STACK),--stack $(STACK)) $(PREFLIGHT_ARGS)

test: install
	$(BIN)/python -m pytest

bench: install
	$(BIN)/python benchmarks/bench_preflight.py
	$(BIN)/python benchmarks/bench_scanners.py

clean:
	rm -rf $(VENV) $(CHECKOV_VENV)
