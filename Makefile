# Two commands do all set-up on a fresh machine: `make run` and `make test`.
SHELL := /bin/bash
.SHELLFLAGS := -o pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= $(shell tools/find-python 3.13)
VENV   := .venv
PY     := $(VENV)/bin/python
SAM_VENV := .venv-sam
CHECKOV_VENV := .venv-checkov
PIP_FLAGS := --quiet --disable-pip-version-check --progress-bar off
# `sam build` looks for python3.13 on PATH; put the interpreter we found there.
SAM_PATH := $(dir $(PYTHON)):$(PATH)

.PHONY: help install run doctor test lint build unit integration bench mutation clean asl report persona

help:
	@echo "make run    deploy the stack into the local cloud and run one sweep"
	@echo "           ARGS=\"...\" passes options, e.g. make run ARGS=\"--scenario scenarios/recycled-ip.yaml --json\""
	@echo "           (all options and scenario fields: make run ARGS=--help)"
	@echo "make report play a traffic scenario in the local cloud (attacks, Shodan indexing, sweeps) and run the"
	@echo "           research report on it: PNG, JSON, CSV in .localcloud/research-report/"
	@echo "           ARGS=\"--scenario scenarios/report-null.yaml --out DIR\" (all options: make report ARGS=--help)"
	@echo "make test   install, lint, build and run all tests"
	@echo "make bench  benchmarks (speed, cost, cold start); ARGS=\"--sizes 10@1,100@1\" as for run"
	@echo "make doctor ARGS=\"--stack NAME [--region R]\"  check a stack deployed on AWS (your credentials)"
	@echo "make asl    render statemachine/sweep.asl.json from sweep.asl.yaml (the source you edit)"
	@echo "make persona  pack the persona renderer (src/ics_honeynet) into template.yaml's init container"
	@echo "make mutation  mutation testing of the core domain (mutmut; long: not part of make test)"
	@echo "make lint | build | unit | integration | clean"

$(VENV)/.installed: requirements-dev.txt src/requirements.txt pyproject.toml
	@test -n "$(PYTHON)" || { echo "error: Python 3.13 is required (see tools/find-python)"; exit 1; }
	@echo "==> installing dev dependencies and the ics_honeynet package (editable) into $(VENV) (Python: $(PYTHON))"
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install $(PIP_FLAGS) -r requirements-dev.txt 2> >(grep -v "is ignored: it is neither" >&2)
	@$(PY) -m pip install $(PIP_FLAGS) -e . 2> >(grep -v "is ignored: it is neither" >&2)
	@touch $@

$(SAM_VENV)/.installed: requirements-sam.txt
	@echo "==> installing AWS SAM CLI into $(SAM_VENV)"
	@$(PYTHON) -m venv $(SAM_VENV)
	@$(SAM_VENV)/bin/pip install $(PIP_FLAGS) -r requirements-sam.txt 2> >(grep -v "is ignored: it is neither" >&2)
	@touch $@

$(CHECKOV_VENV)/.installed: requirements-checkov.txt
	@echo "==> installing checkov into $(CHECKOV_VENV)"
	@$(PYTHON) -m venv $(CHECKOV_VENV)
	@$(CHECKOV_VENV)/bin/pip install $(PIP_FLAGS) -r requirements-checkov.txt 2> >(grep -v "is ignored: it is neither" >&2)
	@touch $@

node_modules/.installed: package.json package-lock.json
	@echo "==> installing asl-validator (npm ci)"
	@npm ci --silent --no-audit --no-fund >/dev/null 2> >(grep -v 'Unknown user config' >&2)
	@touch $@

install: $(VENV)/.installed

run: $(VENV)/.installed
	@$(PY) -m localcloud run $(ARGS)

report: $(VENV)/.installed
	@$(PY) -m localcloud report $(ARGS)

doctor: $(VENV)/.installed
	@$(PY) -m ics_honeynet doctor $(ARGS)

lint: $(VENV)/.installed $(SAM_VENV)/.installed $(CHECKOV_VENV)/.installed node_modules/.installed
	@echo "==> ruff"
	@$(VENV)/bin/ruff check .
	@$(VENV)/bin/ruff format --check .
	@echo "==> mypy --strict src/ics_honeynet"
	@$(VENV)/bin/mypy --strict src/ics_honeynet
	@echo "==> sam validate --lint"
	@SAM_CLI_TELEMETRY=0 $(SAM_VENV)/bin/sam validate --lint --region us-east-1 --template template.yaml
	@echo "==> cfn-lint (+ cfn-lint-serverless rules)"
	@$(VENV)/bin/cfn-lint --append-rules cfn_lint_serverless.rules -- template.yaml
	@echo "==> asl: statemachine/sweep.asl.json is the rendering of sweep.asl.yaml"
	@$(PY) tools/asl.py --check
	@echo "==> persona: template.yaml's init program is the package's persona renderer"
	@$(PY) tools/persona_blob.py --check
	@echo "==> asl-validator"
	@npx --no-install asl-validator --silent --json-path statemachine/sweep.asl.json 2> >(grep -v 'Unknown user config' >&2)
	@echo "==> checkov"
	@$(CHECKOV_VENV)/bin/checkov --quiet --compact --skip-download --framework cloudformation -f template.yaml

asl: $(VENV)/.installed
	@$(PY) tools/asl.py
	@echo "    statemachine/sweep.asl.json rendered from sweep.asl.yaml"

persona: $(VENV)/.installed
	@$(PY) tools/persona_blob.py

build: $(SAM_VENV)/.installed
	@echo "==> sam build (python3.13 from $(PYTHON))"
	@PATH="$(SAM_PATH)" SAM_CLI_TELEMETRY=0 $(SAM_VENV)/bin/sam build --cached --parallel >/dev/null 2>&1 \
	  || { echo "error: sam build failed (it needs python3.13 on PATH; found: $(PYTHON))"; \
	       PATH="$(SAM_PATH)" SAM_CLI_TELEMETRY=0 $(SAM_VENV)/bin/sam build; exit 1; }
	@echo "    built into .aws-sam/build"

# The suite runs on TEST_WORKERS processes (pytest-xdist; each has its own moto and local cloud).
# More workers than the machine's 2 cores pay: the local cloud's waits sleep. Tests are handed out in
# collection order (tests/conftest.py puts the long-running ones first); the tests sharing a
# module-scoped fixture stay together on one worker (xdist_group).
TEST_WORKERS ?= 4
PARALLEL := -n $(TEST_WORKERS) --dist loadgroup --no-loadscope-reorder

unit: $(VENV)/.installed
	@$(VENV)/bin/pytest $(PARALLEL) tests/unit

integration: $(VENV)/.installed
	@$(VENV)/bin/pytest $(PARALLEL) tests/integration

# After the suite, the tests that read and compare times run again on a machine in another time
# zone, UTC+05:30 (a POSIX TZ string: no time zone database needed): times are compared as
# moments, never as local text.
TZ_TESTS := tests/unit tests/integration/test_exposure_lifecycle.py::test_two_sweeps_without_change_send_one_email_and_the_history_says_when
test: lint build
	@$(VENV)/bin/pytest $(PARALLEL)
	@echo "==> again with TZ=IST-5:30 (UTC+05:30): tests/unit and the exposure history's times"
	@TZ=IST-5:30 $(VENV)/bin/pytest -q $(PARALLEL) $(TZ_TESTS)

# Scope and test selection: [tool.mutmut] in pyproject.toml. Results are kept in mutants/: a
# second run re-tests only what changed.
mutation: $(VENV)/.installed
	@echo "==> mutmut run (scope: [tool.mutmut] in pyproject.toml)"
	@$(VENV)/bin/mutmut run --max-children 2 | tr '\r' '\n' | tail -n 1
	@$(PY) tools/mutation_score.py $(ARGS)

bench: $(VENV)/.installed build
	@$(PY) -m localcloud bench $(ARGS)

clean:
	rm -rf $(VENV) $(SAM_VENV) $(CHECKOV_VENV) node_modules .aws-sam .pytest_cache .ruff_cache mutants
