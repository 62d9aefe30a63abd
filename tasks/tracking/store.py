"""The MLflow store: where it is, a client of it, the tempcast experiment, and its errors.

Failures to reach or use the store become one InfrastructureError naming its URI (after
Prefect's task retries, with backoff, and MLflow's own short HTTP retries).
"""

import functools
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import ParamSpec, TypeVar

import mlflow
import requests
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient
from prefect.tasks import exponential_backoff

import tasks.sqlite_journal  # noqa: F401  (SQLite stores commit through a write-ahead log)
from tasks.errors import InfrastructureError, TempcastError
from tasks.places import Places
from tasks.quiet import verbose

P = ParamSpec("P")
R = TypeVar("R")
EXPERIMENT_NAME = "tempcast"
DEFAULT_ARTIFACT_FOLDER = "mlartifacts"
MODEL_PREFIX = "tempcast-"
HTTP_DEFAULTS = {
    # Fail fast inside MLflow; Prefect's task retries add the backoff between attempts.
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "30",
}
# Options of every Prefect task that talks to the store.
STORE_RETRIES = {"retries": 2, "retry_delay_seconds": exponential_backoff(backoff_factor=5)}


def first_line(error: BaseException) -> str:
    """The first line of an error's message, at most 400 characters."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return text if len(text) <= 400 else text[:400] + "…"


def tracking_uri() -> str:
    """$MLFLOW_TRACKING_URI, else the embedded sqlite store in the working directory (see
    tasks.places). MLflow reads the variable too, in every process and worker: it is the one
    setting that reaches a Dask worker without being passed."""
    return Places.from_environment().tracking_uri


def runs_page(ui: str) -> str:
    """Where the MLflow UI at `ui` lists the tempcast experiment's runs, as a line to print
    before starting it: MLflow 3 opens on its GenAI start page, where the runs are not shown."""
    experiment = MlflowClient(tracking_uri()).get_experiment_by_name(EXPERIMENT_NAME)
    if experiment is None:
        return f"No tempcast runs yet in {tracking_uri()}; the MLflow UI: {ui}"
    return f"The tempcast runs in the MLflow UI: {ui}/#/experiments/{experiment.experiment_id}/runs"


def names_the_store(function: Callable[P, R]) -> Callable[P, R]:
    """Turn a failure to reach or use the tracking store into one InfrastructureError naming its
    URI; a TempcastError (the user's to fix) passes unchanged."""

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return function(*args, **kwargs)
        except (TempcastError, InfrastructureError):
            raise
        except (MlflowException, requests.RequestException, OSError) as error:
            raise InfrastructureError(
                f"MLflow tracking at {tracking_uri()} failed: {first_line(error)}"
            ) from error

    return wrapper


def model_name(location: str) -> str:
    """Registered model name of a location: `tempcast-<location in lower case>`."""
    return MODEL_PREFIX + location.lower().replace(" ", "-")


def now_ms() -> int:
    """The time now in milliseconds, as MLflow stamps metrics."""
    return int(time.time() * 1000)


def _is_local(uri: str) -> bool:
    """True for stores on this machine (sqlite or file), whose artifacts we place ourselves."""
    return uri.startswith(("sqlite:", "file:")) or "://" not in uri


def quiet_mlflow() -> None:
    """No artifact progress bars (two per location) unless the user asked to see everything
    (tasks.quiet.verbose); MLflow reads the variable at each download."""
    if not verbose():
        os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")


def mlflow_client() -> MlflowClient:
    """A client of the configured store; the fluent API is pointed at it too.

    MLflow keeps the tracking URI in a context variable, which Prefect copies into each task
    run, so every task that talks to MLflow sets it again rather than relying on another's.
    """
    for name, value in HTTP_DEFAULTS.items():
        os.environ.setdefault(name, value)
    quiet_mlflow()
    uri = tracking_uri()
    mlflow.set_tracking_uri(uri)
    return MlflowClient(tracking_uri=uri)


@names_the_store
def experiment_id() -> str:
    """The `tempcast` experiment's id, created if needed.

    With the embedded store, artifacts go to ./mlartifacts; a tracking server decides for itself.
    """
    client = mlflow_client()
    uri = tracking_uri()
    found = client.get_experiment_by_name(EXPERIMENT_NAME)
    if found is not None:
        return found.experiment_id
    location = Path(DEFAULT_ARTIFACT_FOLDER).resolve().as_uri() if _is_local(uri) else None
    try:
        return client.create_experiment(EXPERIMENT_NAME, artifact_location=location)
    except MlflowException:  # created meanwhile by a concurrent run
        return client.get_experiment_by_name(EXPERIMENT_NAME).experiment_id
