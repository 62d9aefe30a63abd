# tempcast: `make run` and `make test` do all the set-up on a fresh machine (Python 3.11 and pip).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
UI_PORT ?= 5000

.PHONY: install data run test lint format ui bench docs lock clean

$(STAMP): pyproject.toml requirements.lock
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check uv
	$(BIN)/uv pip install --quiet --compile-bytecode --python $(BIN)/python -r requirements.lock -e ".[dev]"
	touch $(STAMP)

install: $(STAMP)  ## create .venv with the project and its dev extra

run: install  ## the main job on the embedded defaults: retrain every location, forecast
	$(BIN)/tempcast retrain --all

ui: install  ## the MLflow UI on the same store, bound to 127.0.0.1 (without MLflow's GenAI job runners); first, the URL of the runs
	-@$(BIN)/python -c 'from tasks.tracking.store import runs_page; print(runs_page("http://127.0.0.1:$(UI_PORT)"))'
	MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false $(BIN)/mlflow ui --backend-store-uri "$${MLFLOW_TRACKING_URI:-sqlite:///mlflow.db}" \
		--host 127.0.0.1 --port $(UI_PORT) --workers 1

data: install  ## the observations file: found where tempcast looks, else fetched and checked
	$(BIN)/tempcast fetch-data --if-missing

test: install data lint  ## the data file (fetched only when missing), lint, then the whole suite
	$(BIN)/pytest

lint: install  ## ruff lint and format check
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install  ## apply ruff's fixes and formatting
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: install  ## timing and accuracy comparisons (long)
	$(BIN)/python -m benchmarks

docs: install  ## the docs site into site/, failing on any warning (its CLI reference from the app)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

lock: install  ## re-pin every dependency into requirements.lock
	$(BIN)/uv pip compile pyproject.toml --extra dev --python-version 3.11 --quiet -o requirements.lock

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache site
