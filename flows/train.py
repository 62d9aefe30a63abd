"""The train flow: prepare the data, then train, evaluate, track and register every location."""

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from prefect import flow, unmapped
from prefect.futures import PrefectFuture, wait
from prefect.task_runners import ThreadPoolTaskRunner

from flows.prepare import prepare_table
from tasks.config import (
    RecipeName,
    SelectionMethod,
    TrainingConfig,
    TrainingOverrides,
    training_config,
)
from tasks.datasets import LocationData, choose_locations, windows
from tasks.errors import TempcastError
from tasks.evaluation import evaluate
from tasks.ingest import ingest, resolve_data_path
from tasks.prepared import Prepared
from tasks.reporting import metrics_table, publish_metrics, summary_metrics
from tasks.tracking import RunContext, TrackedLocation, close_parent, start_parent, track_location
from tasks.training import TrainedModel, train_models


class LocationsFailed(TempcastError):
    """Some locations failed; carries the reasons and the table of those that finished."""

    def __init__(self, failures: dict[str, str], table: pd.DataFrame) -> None:
        reasons = "; ".join(f"{name}: {reason}" for name, reason in failures.items())
        super().__init__(f"{len(failures)} location(s) failed: {reasons}")
        self.failures = failures
        self.table = table


def outcome(future: PrefectFuture) -> tuple[object | None, str | None]:
    """A finished future's result, or the reason it failed."""
    try:
        return future.result(), None
    except Exception as error:
        return None, f"{type(error).__name__}: {error}"


@dataclass
class TrainingRound:
    """What one round of training produced, per location, and why any location failed."""

    datasets: dict[str, LocationData]
    trained: dict[str, TrainedModel]
    tracked: dict[str, TrackedLocation]
    failures: dict[str, str]

    @property
    def table(self) -> pd.DataFrame:
        """The metrics table of the tracked locations."""
        return metrics_table(list(self.tracked.values()))


def train_and_track(
    prepared: Prepared,
    locations: list[str],
    config: TrainingConfig,
    context: RunContext,
    parent_run_id: str,
) -> TrainingRound:
    """Windows, training, then per location (in parallel) evaluation and tracking."""
    datasets, failures = windows(prepared, locations, config.timestep, config.horizon)
    trained, training_failures = train_models(list(datasets.values()), config)
    failures.update(training_failures)
    ready = [datasets[name] for name in datasets if name in trained]
    models = [trained[data.location] for data in ready]
    evaluations = evaluate.map(ready, models)
    tracking = track_location.map(
        unmapped(parent_run_id), unmapped(context), ready, models, evaluations
    )
    wait(tracking)
    tracked = {}
    for data, evaluation, future in zip(ready, evaluations, tracking, strict=True):
        result, reason = outcome(future)
        if result is None:
            failures[data.location] = outcome(evaluation)[1] or reason or "unknown failure"
        else:
            tracked[data.location] = result
    return TrainingRound(datasets, trained, tracked, failures)


def finish(
    table: pd.DataFrame, failures: dict[str, str], parent_run_id: str, out: Path, kind: str
) -> None:
    """Publish the metrics, close the parent run, and fail the flow naming any failed location."""
    publish_metrics(table, out, key=f"{kind}-metrics", description=f"tempcast {kind}: test metrics")
    summary = {**summary_metrics(table), "locations_trained": len(table)}
    close_parent(parent_run_id, {"metrics.csv": table}, summary, failures)
    if failures:
        raise LocationsFailed(failures, table)


@flow(name="train", task_runner=ThreadPoolTaskRunner(max_workers=4))
def train_flow(
    locations: list[str] | None = None,
    recipe: RecipeName = "default",
    selection: SelectionMethod = "auto",
    training: TrainingOverrides | None = None,
    data: str | None = None,
    out: str = "outputs",
) -> pd.DataFrame:
    """Train, evaluate and register a model per location (all locations when none are named)."""
    config = training_config(recipe, training)
    ingested = ingest(resolve_data_path(Path(data) if data else None))
    prepared = prepare_table(ingested, selection)
    chosen = choose_locations(prepared.locations, locations)
    context = RunContext(config, selection, prepared.months[-1], prepared.digest, kind="train")
    parent_run_id = start_parent(
        f"train {context.as_of}", context.params("all"), {"tempcast.kind": "train"}
    )
    trained = train_and_track(prepared, chosen, config, context, parent_run_id)
    finish(trained.table, trained.failures, parent_run_id, Path(out), "train")
    return trained.table
