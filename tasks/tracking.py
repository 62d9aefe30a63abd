"""Tracking: the only module that talks to MLflow.

Every flow run has one parent run; every location one child run, named after the location and
started with an explicit parent (MLflow's active run is thread-local, and child runs are made
in worker threads). Child runs carry the same parameter and metric names, so the MLflow UI's
compare view lines them up. Each location's model is registered as `tempcast-<location>`.
"""

import contextlib
import functools
import io
import os
import socket
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import mlflow
import numpy as np
import pandas as pd
import requests
from mlflow.entities import Metric, Param
from mlflow.exceptions import MlflowException
from mlflow.models import Model, ModelSignature
from mlflow.tracking import MlflowClient
from mlflow.types import Schema, TensorSpec
from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.tasks import exponential_backoff

from tasks.charts import forecast_chart_html, forecast_chart_png
from tasks.config import TrainingConfig
from tasks.errors import TempcastError
from tasks.evaluation import Evaluation

if TYPE_CHECKING:
    from tasks.datasets import LocationData
    from tasks.training import TrainedModel

P = ParamSpec("P")
R = TypeVar("R")
EXPERIMENT_NAME = "tempcast"
DEFAULT_TRACKING_URI = "sqlite:///mlflow.db"
DEFAULT_ARTIFACT_FOLDER = "mlartifacts"
MODEL_PREFIX = "tempcast-"
METRIC_BATCH = 900  # MLflow accepts at most 1000 metrics per log_batch call
# MLflow's pyfunc passes a list to our single named input when it checks the input example.
warnings.filterwarnings("ignore", message="The structure of `inputs` doesn't match")
HTTP_DEFAULTS = {
    # Fail fast inside MLflow; Prefect's task retries add the backoff between attempts.
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "30",
}


@dataclass(frozen=True)
class RunContext:
    """What every child run of one flow run shares: config, data version, cut-off, kind."""

    config: TrainingConfig
    selection: str
    as_of: str
    data_digest: str
    kind: str
    register: bool = True

    def params(self, location: str) -> dict[str, str]:
        """The child run's parameters (the same names in every run)."""
        values: dict[str, Any] = {
            "location": location,
            **self.config.model_dump(),
            "selection": self.selection,
            "as_of": self.as_of,
            "data_digest": self.data_digest,
        }
        return {name: str(value) for name, value in values.items()}


@dataclass(frozen=True)
class TrackedLocation:
    """A location's tracked result: its metrics, child run and registered model version."""

    location: str
    metrics: dict[str, float]
    run_id: str
    model_version: str


def _first_line(error: BaseException) -> str:
    """The first line of an error's message, at most 400 characters."""
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return text if len(text) <= 400 else text[:400] + "…"


def names_the_store(function: Callable[P, R]) -> Callable[P, R]:
    """Turn a failure to reach or use the tracking store into one TempcastError naming its URI
    (Prefect's task retries, with backoff, come first)."""

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return function(*args, **kwargs)
        except TempcastError:
            raise
        except (MlflowException, requests.RequestException, OSError) as error:
            raise TempcastError(
                f"MLflow tracking at {tracking_uri()} failed: {_first_line(error)}"
            ) from error

    return wrapper


def tracking_uri() -> str:
    """$MLFLOW_TRACKING_URI, else the embedded sqlite store in the working directory."""
    return os.environ.get("MLFLOW_TRACKING_URI") or DEFAULT_TRACKING_URI


def model_name(location: str) -> str:
    """Registered model name of a location: `tempcast-<location in lower case>`."""
    return MODEL_PREFIX + location.lower().replace(" ", "-")


def _is_local(uri: str) -> bool:
    """True for stores on this machine (sqlite or file), whose artifacts we place ourselves."""
    return uri.startswith(("sqlite:", "file:")) or "://" not in uri


def mlflow_client() -> MlflowClient:
    """A client of the configured store; the fluent API is pointed at it too.

    MLflow keeps the tracking URI in a context variable, which Prefect copies into each task
    run, so every task that talks to MLflow sets it again rather than relying on another's.
    """
    for name, value in HTTP_DEFAULTS.items():
        os.environ.setdefault(name, value)
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


@names_the_store
def start_parent_run(
    name: str, params: dict[str, Any], tags: dict[str, str], key: str | None = None
) -> str:
    """Create the flow run's parent run and return its id.

    With a `key`, the parent run of an earlier attempt with the same key is reused (and set
    RUNNING again), so that repeating or resuming a flow creates no new parent run.
    """
    client = mlflow_client()
    if key is not None:
        earlier = runs_tagged({PARENT_KEY_TAG: key})
        if earlier:
            client.update_run(earlier[0].info.run_id, status="RUNNING")
            return earlier[0].info.run_id
        tags = {**tags, PARENT_KEY_TAG: key}
    run = client.create_run(experiment_id(), run_name=name, tags={**tags, **owner_tags()})
    client.log_batch(run.info.run_id, params=[Param(k, str(v)) for k, v in params.items()])
    return run.info.run_id


@names_the_store
def finish_run(run_id: str, status: str = "FINISHED") -> None:
    """Mark a run FINISHED, FAILED or KILLED."""
    mlflow_client().set_terminated(run_id, status=status)


@names_the_store
def close_parent_run(
    run_id: str,
    tables: dict[str, pd.DataFrame],
    summary: dict[str, float],
    failures: dict[str, str],
) -> None:
    """Attach result tables (CSV), the summary metrics and any failures; then end the parent
    run, FAILED when a location failed."""
    client = mlflow_client()
    for artifact_file, table in tables.items():
        client.log_text(run_id, table.to_csv(index=False), artifact_file)
    if failures:
        client.log_dict(run_id, failures, "failures.json")
    now = _now_ms()
    values = {**summary, "locations_failed": len(failures)}
    client.log_batch(run_id, metrics=[Metric(k, float(v), now, 0) for k, v in values.items()])
    finish_run(run_id, "FAILED" if failures else "FINISHED")


def _now_ms() -> int:
    return int(time.time() * 1000)


def _signature(timestep: int, horizon: int) -> ModelSignature:
    """Tensor signature: (batch, timestep, 1) float32 in, (batch, horizon, 1) float32 out."""
    return ModelSignature(
        inputs=Schema([TensorSpec(np.dtype(np.float32), (-1, timestep, 1), "monthly_temperature")]),
        outputs=Schema([TensorSpec(np.dtype(np.float32), (-1, horizon, 1))]),
    )


def _pip_requirements() -> list[str]:
    """Pinned requirements of the serving environment (avoids MLflow's slow inference)."""
    return [f"{name}=={version(name)}" for name in ("mlflow", "tensorflow", "keras", "numpy")]


class _KerasFlavor:
    """mlflow.keras, saving into a folder it creates first.

    mlflow.keras.save_model writes the input example before creating its folder, so logging a
    Keras model with an input example fails (mlflow issue #16183); creating the folder first is
    the whole fix. Everything else is MLflow's own Keras flavour.
    """

    __name__ = "mlflow.keras"

    @staticmethod
    def save_model(path: str, mlflow_model: Model, **kwargs: Any) -> None:
        os.makedirs(path, exist_ok=True)
        kwargs.pop("validate_serving_input", None)
        mlflow.keras.save_model(
            kwargs.pop("keras_model"), path, mlflow_model=mlflow_model, **kwargs
        )


def _history_metrics(history: dict[str, list[float]]) -> list[Metric]:
    """loss and val_loss per epoch, as stepped metrics."""
    now = _now_ms()
    return [
        Metric(name, value, now, step)
        for name in ("loss", "val_loss")
        for step, value in enumerate(history.get(name, []))
    ]


def _log_metrics(client: MlflowClient, run_id: str, metrics: list[Metric]) -> None:
    for start in range(0, len(metrics), METRIC_BATCH):
        client.log_batch(run_id, metrics=metrics[start : start + METRIC_BATCH])


def _log_training_data(series: pd.DataFrame, location: str, digest: str) -> None:
    """Log the location's training months as an MLflow dataset input with its digest."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dataset = mlflow.data.from_pandas(
            series, source=None, name=f"{location} monthly training data", digest=digest
        )
        mlflow.log_input(dataset, context="training")


@dataclass(frozen=True)
class RunExtras:
    """What a flow adds to a location's child run beyond the common contract."""

    tags: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)


def owner_tags() -> dict[str, str]:
    """Which process made a run, so that a later attempt can tell a crashed run from a live one."""
    return {"tempcast.host": socket.gethostname(), "tempcast.pid": str(os.getpid())}


_OPEN_RUNS: set[str] = set()  # the child runs this process is logging right now


@contextlib.contextmanager
def _child_run(**kwargs: Any) -> Iterator[Any]:
    """mlflow.start_run, the run counted as open in this process while it lasts: a RUNNING run
    of this process that is not open was left by an attempt that could not end it."""
    with mlflow.start_run(**kwargs) as run:
        _OPEN_RUNS.add(run.info.run_id)
        try:
            yield run
        finally:
            _OPEN_RUNS.discard(run.info.run_id)


@names_the_store
def log_location_run(
    parent_run_id: str,
    context: RunContext,
    data: "LocationData",
    trained: "TrainedModel",
    evaluation: Evaluation,
    extras: RunExtras | None = None,
) -> TrackedLocation:
    """Create a location's child run: params, metrics, history, charts, predictions, dataset,
    and its model logged with the Keras flavour (and registered as `tempcast-<location>` unless
    the context says otherwise). The run is FINISHED only when all of it is logged."""
    location = data.location
    extras = extras or RunExtras()
    client = mlflow_client()
    metrics = {
        **evaluation.metrics,
        "train_seconds": trained.train_seconds,
        "epochs_trained": trained.epochs,
        **extras.metrics,
    }
    tags = {
        "tempcast.kind": context.kind,
        "tempcast.location": location,
        "tempcast.as_of": context.as_of,
    }
    with _child_run(
        experiment_id=experiment_id(),
        run_name=location,
        nested=True,
        parent_run_id=parent_run_id,
        tags={**tags, **owner_tags(), **extras.tags},
    ) as run:
        run_id = run.info.run_id
        client.log_batch(run_id, params=[Param(k, v) for k, v in context.params(location).items()])
        now = _now_ms()
        summary = [Metric(k, float(v), now, 0) for k, v in metrics.items()]
        _log_metrics(client, run_id, summary + _history_metrics(trained.history))
        _log_training_data(data.training_frame(), location, data.training_digest())
        title = f"{location}: test months (as of {context.as_of})"
        _log_charts(client, run_id, evaluation.table(), title)
        for artifact_file, table in extras.tables.items():
            client.log_text(run_id, table.to_csv(index=False), artifact_file)
        info = Model.log(
            artifact_path=None,
            name="model",
            flavor=_KerasFlavor(),
            keras_model=trained.model,
            signature=_signature(data.split.test.x.shape[1], data.split.test.y.shape[1]),
            input_example=data.split.test.x[:1].astype(np.float32),
            pip_requirements=_pip_requirements(),
            registered_model_name=model_name(location) if context.register else None,
            validate_serving_input=False,  # tests load registered versions through pyfunc instead
        )
    if not context.register:
        return TrackedLocation(location, metrics, run_id, "")
    model_version = str(info.registered_model_version)
    for tag, value in (("as_of", context.as_of), ("data_digest", context.data_digest)):
        client.set_model_version_tag(model_name(location), model_version, tag, value)
    return TrackedLocation(location, metrics, run_id, model_version)


def _log_charts(client: MlflowClient, run_id: str, frame: pd.DataFrame, title: str) -> None:
    """PNG and interactive HTML of actual vs forecast vs baselines, and the predictions as CSV.

    The HTML loads plotly.js from its CDN to stay small (one copy per run would add 4.8 MB);
    the PNG needs nothing and shows in the MLflow UI as it is.
    """
    client.log_figure(run_id, forecast_chart_png(frame, title), "plots/test_forecast.png")
    html = forecast_chart_html(frame, title).to_html(include_plotlyjs="cdn")
    client.log_text(run_id, html, "plots/test_forecast.html")
    client.log_text(run_id, frame.to_csv(index=False), "predictions/test_predictions.csv")


@names_the_store
def attach_files(run_id: str, paths: list[Path], folder: str) -> None:
    """Log files as artifacts of a run, under `folder`."""
    client = mlflow_client()
    for path in paths:
        client.log_artifact(run_id, str(path), artifact_path=folder)


CRASH_LEASE_SECONDS = 6 * 3600
PARENT_KEY_TAG = "tempcast.parent_key"


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def owner_gone(tags: dict[str, str], since_ms: int, lease_seconds: float) -> bool | None:
    """Whether the process named by owner tags is gone: asked directly on this host, else judged
    by age (older than the lease). None when the owner is this very process."""
    if tags.get("tempcast.host") == socket.gethostname() and tags.get("tempcast.pid", "").isdigit():
        pid = int(tags["tempcast.pid"])
        return None if pid == os.getpid() else not _process_alive(pid)
    return (_now_ms() - since_ms) / 1000 > lease_seconds


def is_abandoned(run: Any) -> bool:
    """True for a RUNNING run whose process is gone (see owner_gone). A run of this very process
    is abandoned unless it is open (an earlier attempt in this process failed, say while the
    store was unreachable, and could not end it)."""
    gone = owner_gone(run.data.tags, run.info.start_time, CRASH_LEASE_SECONDS)
    return run.info.run_id not in _OPEN_RUNS if gone is None else gone


@names_the_store
def runs_tagged(tags: dict[str, str]) -> list[Any]:
    """Every run of the experiment whose tags include all of `tags`."""
    client = mlflow_client()
    query = " and ".join(f"tags.`{k}` = '{v}'" for k, v in tags.items())
    runs, token = [], None
    while True:
        page = client.search_runs([experiment_id()], query, max_results=1000, page_token=token)
        runs.extend(page)
        token = page.token
        if not token:
            return runs


@names_the_store
def read_artifact_table(run_id: str, artifact_file: str) -> pd.DataFrame:
    """A CSV artifact of a run, as a table."""
    mlflow_client()
    text = mlflow.artifacts.load_text(f"runs:/{run_id}/{artifact_file}")
    return pd.read_csv(io.StringIO(text))


@names_the_store
def tracked_from_run(run: Any) -> TrackedLocation:
    """A location's tracked result, read back from its finished run (and registered version)."""
    client = mlflow_client()
    versions = client.search_model_versions(f"run_id = '{run.info.run_id}'")
    return TrackedLocation(
        location=run.data.params.get("location", run.info.run_name),
        metrics=dict(run.data.metrics),
        run_id=run.info.run_id,
        model_version=str(versions[0].version) if versions else "",
    )


CHAMPION, CHALLENGER = "champion", "challenger"
PROMOTION_TAG, PROMOTED_TAG = "tempcast.promotion", "tempcast.promoted"


@names_the_store
def champion_version(location: str) -> str | None:
    """The version the location's `champion` alias points to, or None."""
    client = mlflow_client()
    try:
        return str(client.get_model_version_by_alias(model_name(location), CHAMPION).version)
    except MlflowException as error:
        if error.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
            return None
        raise


@names_the_store
def load_version(location: str, version: str) -> Any:
    """Load a registered version as a Keras model, in Keras' safe mode."""
    mlflow_client()
    return mlflow.keras.load_model(
        f"models:/{model_name(location)}/{version}",
        load_model_kwargs={"safe_mode": True, "compile": False},
    )


LOCK_PREFIX = "tempcast.lock."  # a dot never occurs in a location's registered model name
LOCK_LEASE_SECONDS = 600
LOCK_WAIT_SECONDS = 600


@names_the_store
def _take_lock(client: MlflowClient, name: str) -> bool:
    """Create the lock's registered model (the registry refuses a second one with the same
    name); remove it instead when its holder is gone (a crashed or killed process)."""
    try:
        client.create_registered_model(
            name,
            tags={**owner_tags(), "taken_ms": str(_now_ms())},
            description="tempcast promotion lock: one promotion of this location at a time",
        )
        return True
    except MlflowException as error:
        if error.error_code != "RESOURCE_ALREADY_EXISTS":
            raise
    with contextlib.suppress(MlflowException):  # it may just have been released
        held = client.get_registered_model(name).tags
        if owner_gone(held, int(held.get("taken_ms", "0")), LOCK_LEASE_SECONDS):
            client.delete_registered_model(name)  # its holder crashed
    return False


@contextlib.contextmanager
def promotion_lock(location: str) -> Iterator[None]:
    """Hold the location's promotion lock while deciding and moving aliases, so that two
    retrains at once never compare against a champion the other is replacing. The lock is a
    registered model named `tempcast.lock.<location>`; creating a name twice is refused
    atomically by the registry, whichever store or server is behind it."""
    client = mlflow_client()
    name = LOCK_PREFIX + model_name(location).removeprefix(MODEL_PREFIX)
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    while not _take_lock(client, name):
        if time.monotonic() > deadline:
            raise TempcastError(f"promotion lock {name} stayed taken for {LOCK_WAIT_SECONDS} s")
        time.sleep(0.5)
    try:
        yield
    finally:
        _release_lock(client, name)


@names_the_store
def _release_lock(client: MlflowClient, name: str) -> None:
    """Delete the lock's registered model."""
    client.delete_registered_model(name)


@names_the_store
def record_decision(
    location: str, version: str, run_id: str, promoted: bool, reason: str, champion: Any
) -> None:
    """Apply a promotion decision (under the location's promotion lock).

    Order: `champion` (when promoted), then `challenger`, then the decision tags, which mark the
    run's promotion as complete. The version's run is already finished, so no alias ever points
    to a version whose run did not finish.
    """
    client = mlflow_client()
    name = model_name(location)
    if promoted:
        client.set_registered_model_alias(name, CHAMPION, version)
    client.set_registered_model_alias(name, CHALLENGER, version)
    client.set_model_version_tag(name, version, "promoted", str(promoted).lower())
    client.set_model_version_tag(name, version, "promotion", reason)
    if champion is not None and champion.mae is not None:
        client.log_metric(run_id, "champion_holdout_mae", float(champion.mae))
    client.set_tag(run_id, PROMOTION_TAG, reason)
    client.set_tag(run_id, PROMOTED_TAG, str(promoted).lower())


@names_the_store
def recorded_decision(run_id: str) -> tuple[bool, str] | None:
    """The promotion decision already recorded on a run, if its promotion completed."""
    tags = mlflow_client().get_run(run_id).data.tags
    if PROMOTION_TAG not in tags or PROMOTED_TAG not in tags:
        return None
    return tags[PROMOTED_TAG] == "true", tags[PROMOTION_TAG]


@task(
    name="track",
    cache_policy=NO_CACHE,
    retries=2,
    retry_delay_seconds=exponential_backoff(backoff_factor=5),
)
def track_location(
    parent_run_id: str,
    context: RunContext,
    data: "LocationData",
    trained: "TrainedModel",
    evaluation: Evaluation,
    extras: RunExtras | None = None,
) -> TrackedLocation:
    """Prefect task: log and register one location (retried with backoff if the store fails)."""
    return log_location_run(parent_run_id, context, data, trained, evaluation, extras)


@task(
    name="start-parent-run",
    cache_policy=NO_CACHE,
    retries=2,
    retry_delay_seconds=exponential_backoff(backoff_factor=5),
)
def start_parent(
    name: str, params: dict[str, Any], tags: dict[str, str], key: str | None = None
) -> str:
    """Prefect task: create (or, with a key, reuse) the flow run's parent MLflow run."""
    return start_parent_run(name, params, tags, key)


@task(
    name="close-parent-run",
    cache_policy=NO_CACHE,
    retries=2,
    retry_delay_seconds=exponential_backoff(backoff_factor=5),
)
def close_parent(
    run_id: str,
    tables: dict[str, pd.DataFrame],
    summary: dict[str, float],
    failures: dict[str, str],
) -> None:
    """Prefect task: attach the results to the parent run and end it."""
    close_parent_run(run_id, tables, summary, failures)
