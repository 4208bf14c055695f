# ara-infra: offline review of the Pulumi program (`python -m review`; no Pulumi CLI, no cloud credentials).
#   make plan    set up .venv, policy-check both stacks (and preview reusing a prod secret), print the prod plan
#   make test    set up .venv, run the whole test suite (what CI runs)
#   make test-fast  the same without the tests that start processes or servers (everyday work)
#   make bench   set up .venv, run the benchmarks in bench/ (numbers, not pass/fail)
#   make docs    regenerate the reference pages read off the code (docs/reference/config.md, policies.md)
#   make lock    regenerate requirements.lock and policies/requirements.lock (needs the package index)
# Needs only Python 3.11 and pip.

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV   ?= .venv
PY     := $(VENV)/bin/python
REQS   := requirements.txt requirements-dev.txt requirements-test-programs.txt $(wildcard policies/requirements.txt) $(wildcard requirements-tools.txt)

.PHONY: venv plan check test test-fast bench docs lock clean

venv: $(VENV)/.installed

$(VENV)/.installed: $(REQS)
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] >= (3, 11) else "Python 3.11+ is required (set PYTHON=...)")'
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --disable-pip-version-check -q -r requirements-dev.txt $(if $(wildcard requirements-tools.txt),-r requirements-tools.txt)
	@touch $@

# Stand-ins for the secrets the committed stack files lack (an operator sets them with
# `pulumi config set --secret`; the CLI, and so the review, refuses a stack without them).
ANSWERS := --answers stacks/offline-answers.json

plan: venv
	$(PY) -m review check --stack prod --stack preview $(ANSWERS)
	$(PY) -m review plan --stack prod $(ANSWERS)

check: venv
	$(PY) -m review check --stack prod --stack preview $(ANSWERS)

test: venv
	$(PY) -m pytest

test-fast: venv
	$(PY) -m pytest -m "not slow" -q

docs: venv
	$(PY) docs/generate.py

bench: venv
	$(PY) bench/bench_check.py

# The hash-pinned installs of the credentialed workflow jobs (README "Pinned tools").
lock: venv
	$(PY) -m cicd lock

clean:
	rm -rf $(VENV) bench/results
