"""Fixtures of the system tests: a real `mlflow server`, quick failures, a working folder."""

import pytest

import tasks.tracking.runs as runs_module
from tasks.pipeline.plan import plan_units
from tasks.pipeline.promotion import promote_location
from tests.support.mlflow_server import MlflowServer
from tests.support.tiny import observations_file

STORE_TASKS = (runs_module.start_parent_run, runs_module.log_location_run)
STORE_TASKS += (runs_module.close_parent_run, plan_units, promote_location)


@pytest.fixture(scope="module")
def tracking_server(tmp_path_factory):
    """One tracking server for a module, started as the module starts (its first test may do
    other work while it comes up: `wait()`). Each test uses its own location names, so
    registered models never mix."""
    server = MlflowServer(tmp_path_factory.mktemp("mlflow-server"))
    server.launch()
    yield server
    server.stop()


@pytest.fixture
def fail_fast(monkeypatch):
    """No HTTP retries inside MLflow and no wait between the tasks' own retries (which still
    happen), so that an unreachable server fails in seconds."""
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "0")
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "20")
    for store_task in STORE_TASKS:
        monkeypatch.setattr(store_task, "retry_delay_seconds", 0)


@pytest.fixture
def workspace(tmp_path):
    """A folder with five years of synthetic observations (2009..2013) for two locations,
    `obs.csv`; its own MLflow store is `mlflow.db` in it."""
    observations_file(tmp_path)
    return tmp_path
