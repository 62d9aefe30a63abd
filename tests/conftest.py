"""Shared fixtures and the test kinds: each folder's tests get its marker (unit, flow, system,
data), so that `pytest -m unit` (say) selects one kind; `make test` runs them all."""

import os
from contextlib import ExitStack
from pathlib import Path
from unittest import mock

import pytest

import tasks  # noqa: F401  (its import switches telemetry off: before any server starts)

HARNESS = pytest.StashKey[ExitStack]()
# The run's Prefect API keeps flow runs, states, artifacts and logs; the services that follow the
# event stream (task runs' records, triggers, the event store, the streams out) are off there: no
# test reads them from it (the tests of triggers and deployments start servers of their own), and
# they were most of its work (over two flow files its CPU went from 27.4 s to 13.6 s, 9.7 s of it
# its start). Only its process has these: not the workers, nor their children.
RUN_API_SERVICES_OFF = {
    f"PREFECT_SERVER_{name}_ENABLED": "false"
    for name in (
        "SERVICES_TASK_RUN_RECORDER",
        "SERVICES_TRIGGERS",
        "SERVICES_EVENT_LOGGER",
        "SERVICES_EVENT_PERSISTER",
        "EVENTS_STREAM_OUT",
        "LOGS_STREAM_OUT",
    )
}

KINDS = {"unit": "unit", "flows": "flow", "system": "system", "data": "data"}
# The files that take longest (measured with --durations), longest first: they start first, so
# that the workers (`-n auto --dist loadfile --no-loadscope-reorder`: a file stays on one, and
# files are handed out in this order) finish together. Then the kinds, the many short ones last.
LONGEST_FILES = (
    "test_crash_resume.py",
    "test_replay.py",
    "test_mlflow_outage.py",
    "test_mlflow_server.py",
    "test_benchmarks.py",
    "test_deployments.py",
    "test_retrain_flow.py",
    "test_quiet_start.py",
    "test_make_run.py",
    "test_fitting.py",
    "test_dask.py",
    "test_backfill_flow.py",
    "test_bad_disks.py",
)
FIRST_TO_LAST = ("system", "flows", "data", "unit")


def run_order(item: pytest.Item) -> tuple[int, int]:
    """Where an item comes: the longest files first (in LONGEST_FILES' order), then by the place
    of its folder in FIRST_TO_LAST (other folders last)."""
    path = Path(item.fspath)
    longest = LONGEST_FILES.index(path.name) if path.name in LONGEST_FILES else len(LONGEST_FILES)
    folder = path.parent.name
    kind = FIRST_TO_LAST.index(folder) if folder in FIRST_TO_LAST else len(FIRST_TO_LAST)
    return longest, kind


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test with the kind of its folder, and order them longest first (a stable
    sort: files and tests keep their order otherwise)."""
    for item in items:
        folder = Path(item.fspath).parent.name
        if folder in KINDS:
            item.add_marker(getattr(pytest.mark, KINDS[folder]))
    items.sort(key=run_order)


@pytest.fixture(scope="session")
def real_data() -> Path:
    """The real weatherAUS file; data tests fail loudly (never skip, never download) when it
    is absent."""
    from tasks.data.ingest import resolve_data_path

    path = resolve_data_path(fetch=False)
    assert path.is_file(), f"the real dataset is needed for data tests: {path}"
    return path


def pytest_configure(config: pytest.Config) -> None:
    """One temporary Prefect API and database for the whole run, so tasks and flows called in
    tests never start a server of their own: started by the main process before its workers,
    which reach it through PREFECT_API_URL (one server, not one per worker)."""
    if hasattr(config, "workerinput") or config.option.collectonly:
        return
    from prefect.settings import PREFECT_API_URL
    from prefect.testing.utilities import prefect_test_harness

    stack = ExitStack()
    with mock.patch.dict(os.environ, RUN_API_SERVICES_OFF):  # the server's process inherits them
        stack.enter_context(prefect_test_harness(server_startup_timeout=120))
    config.stash[HARNESS] = stack
    os.environ["PREFECT_API_URL"] = PREFECT_API_URL.value()


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """`-n auto`: one worker more than the cores. The system tests spend much of their time
    waiting on processes and servers they started (and on retries' delays): with one worker per
    core a core idles then (measured: 542 s with two workers on two cores, 489 s with three)."""
    return (os.cpu_count() or 1) + 1


def pytest_unconfigure(config: pytest.Config) -> None:
    """Stop the run's Prefect API."""
    if HARNESS in config.stash:
        config.stash[HARNESS].close()


@pytest.fixture(scope="session")
def empty_mlflow_store(tmp_path_factory) -> Path:
    """An empty embedded MLflow store, made once per test process (tests copy it:
    tests/support/mlflow_template.py)."""
    from tests.support.mlflow_template import make_empty_store

    return make_empty_store(tmp_path_factory.mktemp("mlflow-template"))


@pytest.fixture
def tracking_store(tmp_path, monkeypatch, empty_mlflow_store):
    """A fresh embedded MLflow store (sqlite + ./mlartifacts) in a temporary working folder, and
    the default forecast history beside it (sqlite:///forecasts.db). MLflow's default store is
    this one too (a flow run in an earlier test left it pointing at that test's store)."""
    import mlflow

    from tests.support.mlflow_template import copy_empty_store

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TEMPCAST_FORECASTS_URI", raising=False)
    uri = copy_empty_store(empty_mlflow_store, tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    mlflow.set_tracking_uri(uri)
    return tmp_path


@pytest.fixture
def session_prefect_api(monkeypatch):
    """Subprocesses started by the test use the session's Prefect API (none starts its own)."""
    from prefect.settings import PREFECT_API_URL

    monkeypatch.setenv("PREFECT_API_URL", PREFECT_API_URL.value())
