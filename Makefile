# journeylib: the two commands a newcomer needs are `make report` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
SAMPLE_DIR ?= data/sample
SAMPLE_USERS ?= 50000
SAMPLE_SEED ?= 7
PYTEST_ARGS ?=
LAB_PORT ?= 8888
LAB_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help venv notebook-git lab system-deps sample validate report dashboard docs test test-fast lint format bench clean

help: ## Show the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  make %-12s %s\n", $$1, $$2}'

$(BIN)/python:
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "journeylib needs Python 3.11 or newer, found " + sys.version.split()[0]'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@# the project's Jupyter kernel: reports, the dashboard and JupyterLab run notebooks in it
	$(BIN)/python -m ipykernel install --sys-prefix --name journeylib --display-name "Python (journeylib)" >/dev/null
	touch $(STAMP)

venv: $(STAMP) notebook-git ## Create .venv and install journeylib with its development dependencies

notebook-git: $(STAMP) ## Strip notebook outputs on commit (nbstripout), diff and merge them by cell (nbdime)
	@bash scripts/notebook-git.sh "$(VENV)"

lab: $(STAMP) notebook-git $(SAMPLE_DIR)/journey.yml ## JupyterLab on 127.0.0.1 in the journeylib kernel, on notebooks/ (LAB_PORT, LAB_ARGS)
	$(BIN)/jupyter lab --ServerApp.ip=127.0.0.1 --ServerApp.port=$(LAB_PORT) \
		--ServerApp.root_dir="$(CURDIR)/notebooks" \
		--MappingKernelManager.default_kernel_name=journeylib \
		$(if $(filter 0,$(shell id -u)),--allow-root) $(LAB_ARGS)

system-deps: ## Install Debian's chromium and postgresql when missing (needs root and apt)
	@bash scripts/system-deps.sh

sample: $(STAMP) ## Write the seeded sample company to data/sample (SAMPLE_USERS, SAMPLE_SEED)
	$(BIN)/journey sample --users $(SAMPLE_USERS) --seed $(SAMPLE_SEED) --out $(SAMPLE_DIR)

$(SAMPLE_DIR)/journey.yml:
	$(MAKE) sample

validate: $(STAMP) $(SAMPLE_DIR)/journey.yml ## Validate the sample data and print its data-quality summary
	$(BIN)/journey validate $(SAMPLE_DIR)/journey.yml

report: $(STAMP) $(SAMPLE_DIR)/journey.yml ## Run the weekly report on the sample data and print where its HTML is
	$(BIN)/journey report run journey_report -p config_path "$(abspath $(SAMPLE_DIR))/journey.yml" -p as_of data_end -p period last_full_week

dashboard: $(STAMP) $(SAMPLE_DIR)/journey.yml ## Serve the dashboard on the sample data (DASHBOARD_ARGS=--port 8866)
	$(BIN)/journey dashboard $(SAMPLE_DIR)/journey.yml $(DASHBOARD_ARGS)

docs: $(STAMP) ## Write docs/kpis.md, the KPI reference, from the KPI registry
	@# written whole or not at all: a failed run leaves the previous file in place
	$(BIN)/journey kpis --list --format markdown > docs/kpis.md.tmp \
		&& mv docs/kpis.md.tmp docs/kpis.md || { rm -f docs/kpis.md.tmp; exit 1; }

test: $(STAMP) system-deps ## Run the whole test suite (browser and database tests, doctests of journeylib/)
	@# pytest exits 5 when it collects no test (a PYTEST_ARGS selection that matches nothing):
	@# said on stderr, not a failure; every other non-zero status is
	$(BIN)/python -m pytest $(PYTEST_ARGS); status=$$?; \
	if [ $$status -eq 5 ]; then echo "make test: pytest collected no test (PYTEST_ARGS: '$(PYTEST_ARGS)')" >&2; exit 0; fi; \
	exit $$status

test-fast: $(STAMP) ## Run the tests not marked slow (no Papermill, browser, JupyterLab, Voilà or PostgreSQL), doctests included, on 2 workers
	$(BIN)/python -m pytest -m "not slow" -n 2 $(PYTEST_ARGS); status=$$?; \
	if [ $$status -eq 5 ]; then echo "make test-fast: pytest collected no test (PYTEST_ARGS: '$(PYTEST_ARGS)')" >&2; exit 0; fi; \
	exit $$status

lint: $(STAMP) ## Check style with ruff
	$(BIN)/ruff check journeylib tests benchmarks scripts
	$(BIN)/ruff format --check journeylib tests benchmarks scripts

format: $(STAMP) ## Format the code with ruff
	$(BIN)/ruff check --fix journeylib tests benchmarks scripts
	$(BIN)/ruff format journeylib tests benchmarks scripts

bench: $(STAMP) ## Benchmark the engine against DuckDB (1M and 10M events; BENCH_ARGS=--with-50m)
	$(BIN)/python benchmarks/engine.py $(BENCH_ARGS)

clean: ## Remove the virtual environment and caches (keeps data/ and reports/)
	rm -rf $(VENV) .pytest_cache .ruff_cache build *.egg-info
