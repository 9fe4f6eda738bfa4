# camops — `make help` lists the targets.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
MOTO_VENV := .moto-venv
DEMO_SECONDS ?= 60

.DEFAULT_GOAL := help
.PHONY: help install system-deps image-deps image test-deps lint format typecheck imports crds crds-check docs docs-check test test-fast test-dates check bench demo clean

help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  \033[1m%-12s\033[0m %s\n", $$1, $$2}'

$(BIN)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info[:2] == (3, 11) else "camops needs Python 3.11 (set PYTHON=python3.11)")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test,lint]'
	@touch $@

install: $(BIN)/.installed ## create .venv with camops (editable) and the test and lint tools

$(MOTO_VENV)/.installed: scripts/moto-requirements.txt
	@test -x $(MOTO_VENV)/bin/python || $(PYTHON) -m venv $(MOTO_VENV)
	$(MOTO_VENV)/bin/python -m pip install -q -r scripts/moto-requirements.txt
	@touch $@

system-deps: ## install the Debian packages the tests need (RTSP server, ffmpeg)
	@scripts/system-deps.sh

image-deps: ## install the Debian packages that build the image here (buildah, mmdebstrap)
	@scripts/system-deps.sh image

IMAGE ?= localhost/camops:dev
image: ## build the image with docker, podman or buildah, whichever is present (IMAGE=name:tag)
	IMAGE=$(IMAGE) scripts/image.sh

test-deps: install system-deps image-deps $(MOTO_VENV)/.installed ## everything the tests need (S3 test server in its own venv)

lint: install ## ruff check + ruff format --check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install ## apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

typecheck: install ## mypy strict (pydantic plugin)
	$(BIN)/mypy operator/camops_operator workers/camops_workers tests bench

imports: install ## import-linter contracts (workers never import the operator or kopf)
	$(BIN)/lint-imports

crds: install ## regenerate crds/ and the chart's copy from the API models
	$(BIN)/camops crds
	cp crds/*.yaml charts/camops/files/crds/

crds-check: install ## fail when crds/ (or the chart's copy) is stale
	$(BIN)/camops crds --check
	@diff -r crds charts/camops/files/crds || { echo "charts/camops/files/crds is stale: run make crds"; exit 1; }

docs: install ## regenerate docs/reference.md and the generated tables of docs/operations.md
	$(BIN)/python -m camops_operator.docgen

docs-check: install ## fail when the generated docs are stale
	$(BIN)/python -m camops_operator.docgen --check

test: test-deps ## run every test (installs what they need first)
	$(BIN)/python -m pytest tests

test-fast: install ## unit tests only
	$(BIN)/python -m pytest tests/unit -q

test-dates: test-deps ## only the date-sensitive tests, each at every fixed date of tests/support/clock.py (part of test)
	$(BIN)/python -m pytest tests -m dated -q

check: test-deps lint typecheck imports crds-check docs-check test ## everything CI runs (installs what it needs first)

bench: install system-deps $(MOTO_VENV)/.installed ## run every benchmark (prints tables; last line JSON)
	@for b in bench/*.py; do case $$b in bench/_*) continue;; esac; echo "== $$b"; $(BIN)/python $$b || exit 1; done

demo: install ## run camops locally against the bundled synthetic cameras for DEMO_SECONDS
	$(BIN)/camops local --demo --seconds $(DEMO_SECONDS)

clean: ## remove the virtualenvs, caches and demo output
	rm -rf $(VENV) $(MOTO_VENV) .mypy_cache .ruff_cache .pytest_cache .hypothesis camops-data
