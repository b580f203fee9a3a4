# Seam — `make help` lists the targets. Everything installs itself, pinned, into .venv / .venv-sam.
SHELL := /bin/bash
PY313 := $(shell pyenv root 2>/dev/null)/versions/3.13.0/bin/python3.13
PYTHON ?= $(if $(wildcard $(PY313)),$(PY313),python3)
VENV := .venv
SAM_VENV := .venv-sam
BIN := $(VENV)/bin
SAM := SAM_CLI_TELEMETRY=0 $(SAM_VENV)/bin/sam
LAMBDA_PATH := PATH=$(dir $(PY313)):$$PATH
ENV ?= dev

.DEFAULT_GOAL := help
.PHONY: help setup demo test reliability lint build deploy bench clean

help: ## List the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

setup: $(VENV)/.installed $(SAM_VENV)/.installed kubectl ## Create the venvs and install everything, pinned

$(VENV)/.installed: requirements/dev.txt requirements/constraints.txt layers/seam/requirements.txt examples/churn/image/requirements.txt pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --disable-pip-version-check -r requirements/dev.txt -c requirements/constraints.txt
	$(BIN)/pip install -q --disable-pip-version-check --no-deps -e .
	@touch $@

$(SAM_VENV)/.installed: requirements/sam.txt
	$(PYTHON) -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install -q --disable-pip-version-check -r requirements/sam.txt
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

lint: setup ## ruff, cfn-lint and sam validate --lint
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/cfn-lint template.yaml
	$(SAM) validate --lint --region us-east-1

build: setup ## sam build (python3.13, arm64)
	$(LAMBDA_PATH) $(SAM) build

deploy: build ## sam deploy --config-env $(ENV) (needs AWS credentials)
	$(SAM) deploy --config-env $(ENV)

bench: setup ## Speed and size figures (cold start, package size, ...) -> bench/results.json
	$(LAMBDA_PATH) $(BIN)/python -m bench.run

clean: ## Remove venvs and build output
	rm -rf $(VENV) $(SAM_VENV) .aws-sam .seam
