"""Shared fixtures and the test kinds: each folder's tests get its marker (unit, flow, system,
data), so that `pytest -m unit` (say) selects one kind; `make test` runs them all."""

from pathlib import Path

import pytest

KINDS = {"unit": "unit", "flows": "flow", "system": "system", "data": "data"}
# The order the kinds run in: the longest files first (system, then flows), the many short ones
# last, so that the workers (`-n auto --dist loadfile`: a file stays on one) finish together.
FIRST_TO_LAST = ("system", "flows", "data", "unit")


def kind_order(item: pytest.Item) -> int:
    """Where an item's folder comes in FIRST_TO_LAST (other folders last)."""
    folder = Path(item.fspath).parent.name
    return FIRST_TO_LAST.index(folder) if folder in FIRST_TO_LAST else len(FIRST_TO_LAST)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test with the kind of its folder, and run the kinds longest first (a stable
    sort: files and tests keep their order within a kind)."""
    for item in items:
        folder = Path(item.fspath).parent.name
        if folder in KINDS:
            item.add_marker(getattr(pytest.mark, KINDS[folder]))
    items.sort(key=kind_order)


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
