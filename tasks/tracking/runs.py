"""Runs: one parent run per flow run, one child run per location, and queries over them.

Child runs are started with an explicit parent (MLflow's active run is thread-local, and they
are made in worker threads). They carry the same parameter and metric names, so the MLflow UI's
compare view lines them up.
"""

import io
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import mlflow
import pandas as pd
from mlflow.entities import DatasetInput, InputTag, Metric, Param, RunTag
from mlflow.tracking import MlflowClient
from mlflow.utils.mlflow_tags import MLFLOW_DATASET_CONTEXT
from prefect import task
from prefect.cache_policies import NO_CACHE

from tasks.tracking.compat import dataset_entity
from tasks.tracking.models import log_model, register_model
from tasks.tracking.ownership import owned_run, owner_tags
from tasks.tracking.store import (
    STORE_RETRIES,
    experiment_id,
    mlflow_client,
    model_name,
    names_the_store,
    now_ms,
)

PARENT_KEY_TAG = "tempcast.parent_key"
METRIC_BATCH = 900  # MLflow accepts at most 1000 metrics per log_batch call


@dataclass(frozen=True)
class RunContext:
    """What every child run of one flow run shares: settings, data version, cut-off, kind."""

    settings: dict[str, Any]
    as_of: str
    data_digest: str
    kind: str
    register: bool = True

    def params(self, location: str) -> dict[str, str]:
        """The child run's parameters (the same names in every run)."""
        values = {
            "location": location,
            **self.settings,
            "as_of": self.as_of,
            "data_digest": self.data_digest,
        }
        return {name: str(value) for name, value in values.items()}


class Charts(Protocol):
    """The test window's charts, drawn outside tracking (tasks.publish.drawing.WindowCharts):
    `start` begins drawing them and returns the call that gives their PNG bytes and HTML, so
    that they are drawn while the run's model is logged."""

    def start(self) -> Callable[[], tuple[bytes, str]]: ...


@dataclass(frozen=True)
class RunRecord:
    """What a location's child run holds: metrics, per-epoch curves, tags, tables (CSV files),
    the test window's actual vs forecast vs baselines (and its charts, if there is one), its
    training data, and its model (saved: see models.saved_model; None for a run that keeps no
    model, a backfill's) with an input example and the location's uncertainty constants (see
    models.uncertainty_constants; None: the model carries none)."""

    location: str
    metrics: dict[str, float]
    curves: dict[str, list[float]]
    tags: dict[str, str]
    tables: dict[str, pd.DataFrame]
    test_window: pd.DataFrame | None
    training_data: pd.DataFrame
    training_digest: str
    model_file: bytes | None
    example: pd.DataFrame
    model_tags: dict[str, str] = field(default_factory=dict)
    uncertainty: dict[str, Any] | None = None
    charts: Charts | None = None


@dataclass(frozen=True)
class TrackedLocation:
    """A location's tracked result: its metrics, child run and registered model version, the
    as_of it was trained for, and whether this flow run tracked it (`fresh`; False: read back
    from a run an earlier attempt finished, or made elsewhere)."""

    location: str
    metrics: dict[str, float]
    run_id: str
    model_version: str
    as_of: str | None = None
    fresh: bool = False


@task(name="start-parent-run", cache_policy=NO_CACHE, **STORE_RETRIES)
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


@task(name="close-parent-run", cache_policy=NO_CACHE, **STORE_RETRIES)
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
    now = now_ms()
    values = {**summary, "locations_failed": len(failures)}
    client.log_batch(run_id, metrics=[Metric(k, float(v), now, 0) for k, v in values.items()])
    client.set_terminated(run_id, status="FAILED" if failures else "FINISHED")


@names_the_store
def log_run_results(run_id: str, metrics: dict[str, float], tags: dict[str, str]) -> None:
    """Log summary metrics and tags on a run (a flow's parent run, say) while it is open."""
    now = now_ms()
    mlflow_client().log_batch(
        run_id,
        metrics=[Metric(k, float(v), now, 0) for k, v in metrics.items()],
        tags=[RunTag(k, v) for k, v in tags.items()],
    )


def _log_metrics(client: MlflowClient, run_id: str, metrics: list[Metric]) -> None:
    """Log the metrics in as few calls as MLflow accepts."""
    for start in range(0, len(metrics), METRIC_BATCH):
        client.log_batch(run_id, metrics=metrics[start : start + METRIC_BATCH])


def run_metrics(record: RunRecord, model_id: str | None) -> list[Metric]:
    """The run's summary metrics and per-epoch curves; those of step 0 are linked to the logged
    model too, as MLflow links them when a model is logged after its run's metrics."""
    now = now_ms()
    values = [(k, float(v), 0) for k, v in record.metrics.items()]
    values += [(k, v, step) for k, curve in record.curves.items() for step, v in enumerate(curve)]
    return [
        Metric(key, value, now, step, model_id=model_id if step == 0 else None)
        for key, value, step in values
    ]


def _log_training_data(
    client: MlflowClient, run_id: str, frame: pd.DataFrame, location: str, digest: str
) -> None:
    """Log the location's training months as an MLflow dataset input with its digest."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        dataset = mlflow.data.from_pandas(
            frame, source=None, name=f"{location} monthly training data", digest=digest
        )
    # The entity is what mlflow.log_input sends; that call needs (or starts) an active run.
    context = InputTag(MLFLOW_DATASET_CONTEXT, "training")
    client.log_inputs(run_id, datasets=[DatasetInput(dataset_entity(dataset), [context])])


def _log_test_window(
    client: MlflowClient, run_id: str, frame: pd.DataFrame, charts: tuple[bytes, str]
) -> None:
    """PNG and interactive HTML of actual vs forecast vs baselines (see RunRecord.charts),
    and the predictions as CSV. The PNG needs nothing and shows in the MLflow UI as it is."""
    png, html = charts
    with tempfile.TemporaryDirectory(prefix="tempcast-chart-") as folder:
        path = Path(folder) / "test_forecast.png"
        path.write_bytes(png)
        client.log_artifact(run_id, str(path), "plots")
    client.log_text(run_id, html, "plots/test_forecast.html")
    client.log_text(run_id, frame.to_csv(index=False), "predictions/test_predictions.csv")


@task(name="track-location", cache_policy=NO_CACHE, **STORE_RETRIES)
@names_the_store
def log_location_run(parent_run_id: str, context: RunContext, record: RunRecord) -> TrackedLocation:
    """Create a location's child run: params, metrics, curves, tags, test-window charts and
    predictions, tables, training data, and the model (registered as `tempcast-<location>`
    unless the context says otherwise). The run is FINISHED only when all of it is logged."""
    location = record.location
    client = mlflow_client()
    tags = {
        "tempcast.kind": context.kind,
        "tempcast.location": location,
        "tempcast.as_of": context.as_of,
        **record.tags,
    }
    window = record.test_window
    charts = record.charts.start() if window is not None and record.charts else None
    experiment = experiment_id()
    with owned_run(client, experiment, location, parent_run_id, tags) as run_id:
        params = context.params(location)
        client.log_batch(run_id, params=[Param(k, v) for k, v in params.items()])
        info = None
        if record.model_file is not None:
            info = log_model(
                run_id, experiment, params, record.model_file, record.example, record.uncertainty
            )
        _log_metrics(client, run_id, run_metrics(record, info.model_id if info else None))
        _log_training_data(client, run_id, record.training_data, location, record.training_digest)
        for artifact_file, table in record.tables.items():
            client.log_text(run_id, table.to_csv(index=False), artifact_file)
        if window is not None and charts is not None:
            _log_test_window(client, run_id, window, charts())
        version_tags = {
            "as_of": context.as_of,
            "data_digest": context.data_digest,
            **record.model_tags,
        }
        model_version = ""
        if context.register and info is not None:
            model_version = register_model(info, model_name(location), version_tags)
    return TrackedLocation(location, record.metrics, run_id, model_version, context.as_of, True)


@names_the_store
def attach_files(run_id: str, paths: list[Path], folder: str) -> None:
    """Log files as artifacts of a run, under `folder`."""
    client = mlflow_client()
    for path in paths:
        client.log_artifact(run_id, str(path), artifact_path=folder)


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
        as_of=run.data.params.get("as_of"),
    )
