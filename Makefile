# Seam — `make help` lists the targets. Everything installs itself, pinned, into .venv / .venv-sam.
SHELL := /bin/bash
# The venvs' Python: scripts/find-python picks python3.13, else 3.12 (on PATH, in pyenv's or uv's folders,
# then python3), or checks PYTHON=... . With none, make stops there with its one-line reason, before
# anything is installed.
PYTHON ?=
VENV_PYTHON = $(call found_python,$(shell scripts/find-python $(PYTHON) 2>&1))
found_python = $(if $(filter /%,$(firstword $1)),$1,$(error $1))
# sam build runs the functions' runtime, python3.13, from PATH.
LAMBDA_PYTHON = $(shell scripts/find-python --only 3.13 2>/dev/null)
VENV := .venv
SAM_VENV := .venv-sam
CHECKOV_VENV := .venv-checkov
BIN := $(VENV)/bin
SAM := SAM_CLI_TELEMETRY=0 $(SAM_VENV)/bin/sam
LAMBDA_PATH = $(if $(LAMBDA_PYTHON),PATH=$(dir $(LAMBDA_PYTHON)):$$PATH)
ENV ?= dev

.DEFAULT_GOAL := help
.PHONY: help setup demo test reliability lint build deploy bench clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

setup: $(VENV)/.installed $(SAM_VENV)/.installed $(CHECKOV_VENV)/.installed kubectl ## Create the venvs and install everything, pinned

$(VENV)/.installed: requirements/dev.txt requirements/constraints.txt layers/seam/requirements.txt examples/churn/image/requirements.txt pyproject.toml
	$(VENV_PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -r requirements/dev.txt -c requirements/constraints.txt
	$(BIN)/pip install -q --disable-pip-version-check --no-deps -e .
	@touch $@

$(SAM_VENV)/.installed: requirements/sam.txt
	$(VENV_PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install -q --disable-pip-version-check -r requirements/sam.txt
	@touch $@

$(CHECKOV_VENV)/.installed: requirements/checkov.txt
	$(VENV_PYTHON) -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install -q --disable-pip-version-check -r requirements/checkov.txt
	@touch $@

.PHONY: kubectl
kubectl:
	@command -v kubectl >/dev/null || { apt-get update -qq && apt-get install -y -qq kubernetes-client; }

demo: setup ## Run a full retraining run offline, on the embedded emulator
	$(BIN)/seam demo

test: setup ## Run the test suite (unit, workflow, local, template)
	$(LAMBDA_PATH) $(BIN)/pytest tests -q -p no:logging

reliability: setup ## Fault-injection scenarios + bad-input corpus: table and "N passed, M failed"
	$(LAMBDA_PATH) $(BIN)/python -m tests.reliability.report

lint: setup ## ruff, cfn-lint, sam validate --lint and checkov (0 failed; skips are in template.yaml)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/cfn-lint template.yaml
	$(SAM) validate --lint --region us-east-1
	$(CHECKOV_VENV)/bin/checkov -f template.yaml --framework cloudformation --compact --quiet --skip-download

build: setup ## sam build (python3.13, arm64)
	$(LAMBDA_PATH) $(SAM) build

deploy: build ## sam deploy --config-env $(ENV) (needs AWS credentials)
	$(SAM) deploy --config-env $(ENV)

bench: setup ## Speed and size figures (cold start, package size, ...) -> bench/results.json
	$(LAMBDA_PATH) $(BIN)/python -m bench.run

clean: ## Remove venvs and build output
	rm -rf $(VENV) $(SAM_VENV) $(CHECKOV_VENV) .aws-sam .seam
