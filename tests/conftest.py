"""Shared fixtures: the real dataset's path, a Prefect test harness, temporary output folders."""

from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data" / "weatherAUS.csv.gz"


@pytest.fixture(scope="session")
def real_data() -> Path:
    """The real weatherAUS file; data tests fail loudly (never skip) when it is absent."""
    from tasks.ingest import resolve_data_path

    path = resolve_data_path()
    assert path.is_file(), f"the real dataset is needed for data tests: {SHARED_DATA}"
    return path


@pytest.fixture(scope="session", autouse=True)
def prefect_harness():
    """A temporary Prefect API and database for the whole session, so tasks and flows called in
    tests never start a server of their own."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


def in_flow(function, *args, **kwargs):
    """Call a function that chains Prefect tasks inside a throwaway flow, as the real flows do.

    The arguments are bound in a closure: flow parameters are sent to the Prefect API, which
    refuses large values such as data frames.
    """
    from prefect import flow

    @flow(name=f"test-{function.__name__}")
    def wrapper():
        return function(*args, **kwargs)

    return wrapper()


@pytest.fixture
def tracking_store(tmp_path, monkeypatch):
    """A fresh embedded MLflow store (sqlite + ./mlartifacts) in a temporary working folder."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    return tmp_path
