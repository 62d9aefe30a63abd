"""Where things live: the options first, then the environment, then the defaults; one result
folder per flow; every variable read in tasks/places.py only."""

from pathlib import Path

import pytest

from tasks.places import ENVIRONMENT, FILES, Places, prefect_environment


@pytest.fixture
def clean_environment(monkeypatch):
    for name in ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_the_defaults(clean_environment):
    places = Places.from_environment()
    assert places.tracking_uri == "sqlite:///mlflow.db"
    assert places.history_uri == "sqlite:///forecasts.db"
    assert places.observations_uri == "sqlite:///observations.db"
    assert places.data is places.dask_address is places.data_url is None
    assert places.out_folder("retrain") == places.out_folder("train") == Path("outputs")
    assert places.out_folder("backfill") == Path("outputs/backfill")


def test_the_environment_then_the_options(clean_environment):
    clean_environment.setenv("TEMPCAST_DATA", "env.csv")
    clean_environment.setenv("MLFLOW_TRACKING_URI", "http://mlflow:5000")
    clean_environment.setenv("TEMPCAST_FORECASTS_URI", "sqlite:///other.db")
    clean_environment.setenv("TEMPCAST_DASK_ADDRESS", "tcp://dask:8786")
    clean_environment.setenv("TEMPCAST_DATA_URL", "http://mirror/w.csv")
    clean_environment.setenv("TEMPCAST_DATA_SHA256", "f" * 64)
    clean_environment.setenv("TEMPCAST_OBSERVATIONS_URI", "postgresql+psycopg://db/obs")
    places = Places.from_environment()
    assert places.observations_uri == "postgresql+psycopg://db/obs"
    assert (places.data, places.dask_address) == ("env.csv", "tcp://dask:8786")
    assert (places.tracking_uri, places.history_uri) == ("http://mlflow:5000", "sqlite:///other.db")
    assert (places.data_url, places.data_sha256) == ("http://mirror/w.csv", "f" * 64)
    given = Places.from_environment("given.csv", "results", "tcp://other:8786")
    assert (given.data, given.dask_address) == ("given.csv", "tcp://other:8786")
    assert given.out_folder("backfill") == Path("results")


def test_an_empty_variable_counts_as_not_set(clean_environment):
    clean_environment.setenv("MLFLOW_TRACKING_URI", "")
    clean_environment.setenv("TEMPCAST_DATA", "")
    places = Places.from_environment()
    assert places.tracking_uri == "sqlite:///mlflow.db" and places.data is None


def test_only_the_places_module_reads_these_variables():
    root = Path(__file__).resolve().parents[2]
    for path in [*root.joinpath("tasks").rglob("*.py"), *root.joinpath("flows").rglob("*.py")]:
        if path.name != "places.py":
            text = path.read_text()
            assert not [name for name in ENVIRONMENT if f'"{name}"' in text], path


def test_file_names_are_distinct():
    names = list(FILES.model_dump().values())
    assert len(set(names)) == len(names)


def test_prefects_own_variables_as_set(monkeypatch):
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:4200/api")
    monkeypatch.setenv("PREFECT_PROFILE", "")
    env = prefect_environment()
    assert env["PREFECT_API_URL"] == "http://127.0.0.1:4200/api" and env["PREFECT_PROFILE"] is None
