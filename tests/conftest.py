"""Shared fixtures and the test kinds: each folder's tests get its marker (unit, flow, system,
data), so that `pytest -m unit` (say) selects one kind; `make test` runs them all."""

from pathlib import Path

import pytest

KINDS = {"unit": "unit", "flows": "flow", "system": "system", "data": "data"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test with the kind of its folder."""
    for item in items:
        folder = Path(item.fspath).parent.name
        if folder in KINDS:
            item.add_marker(getattr(pytest.mark, KINDS[folder]))


@pytest.fixture(scope="session")
def real_data() -> Path:
    """The real weatherAUS file; data tests fail loudly (never skip, never download) when it
    is absent."""
    from tasks.data.ingest import resolve_data_path

    path = resolve_data_path(fetch=False)
    assert path.is_file(), f"the real dataset is needed for data tests: {path}"
    return path


@pytest.fixture(scope="session", autouse=True)
def prefect_harness():
    """A temporary Prefect API and database for the whole session, so tasks and flows called in
    tests never start a server of their own."""
    from prefect.testing.utilities import prefect_test_harness

    with prefect_test_harness(server_startup_timeout=120):
        yield


@pytest.fixture
def tracking_store(tmp_path, monkeypatch):
    """A fresh embedded MLflow store (sqlite + ./mlartifacts) in a temporary working folder, and
    the default forecast history beside it (sqlite:///forecasts.db)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TEMPCAST_FORECASTS_URI", raising=False)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    return tmp_path


@pytest.fixture
def session_prefect_api(monkeypatch):
    """Subprocesses started by the test use the session's Prefect API (none starts its own)."""
    from prefect.settings import PREFECT_API_URL

    monkeypatch.setenv("PREFECT_API_URL", PREFECT_API_URL.value())
