"""The train flow: prepare the data, then train, evaluate, track and register every location."""

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from prefect import flow, unmapped
from prefect.futures import PrefectFuture
from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner

from flows.prepare import prepare_table
from flows.runners import RunnerKind, fan_out_runner
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
from tasks.outputs import ensure_folder
from tasks.prepared import Prepared
from tasks.reporting import format_table, metrics_table, publish_metrics, summary_metrics
from tasks.tracking import (
    RunContext,
    RunExtras,
    TrackedLocation,
    close_parent,
    start_parent,
    track_location,
    tracked_from_run,
)
from tasks.training import TrainedModel, train_location, train_models
from tasks.units import UNIT_TAG, plan_work


class LocationsFailed(TempcastError):
    """Some locations failed; carries the reasons and the results of those that finished, as
    the text to show before the error."""

    def __init__(self, failures: dict[str, str], finished: str) -> None:
        by_reason: dict[str, list[str]] = {}
        for name, reason in failures.items():
            by_reason.setdefault(reason, []).append(name)
        reasons = "; ".join(f"{', '.join(names)}: {reason}" for reason, names in by_reason.items())
        super().__init__(f"{len(failures)} location(s) failed: {reasons}")
        self.failures = failures
        self.finished = finished


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


def collect(
    names: list[str], futures: list[PrefectFuture], failures: dict[str, str], step: str
) -> dict:
    """The results of per-location futures; a failed one adds `step: reason` to `failures`."""
    results = {}
    for name, future in zip(names, futures, strict=True):
        result, reason = outcome(future)
        if result is None:
            failures.setdefault(name, f"{step} failed: {reason}")
        else:
            results[name] = result
    return results


def train_locations(
    datasets: dict[str, LocationData], todo: list[str], config: TrainingConfig, runner: TaskRunner
) -> tuple[dict[str, TrainedModel], dict[str, str]]:
    """Train the locations to do: one global model over every location (so that it matches a
    clean run), or each location on its own through the runner."""
    if config.strategy == "global":
        trained, failures = train_models(list(datasets.values()), config)
        return trained, {name: why for name, why in failures.items() if name in todo}
    failures: dict[str, str] = {}
    futures = runner.map(
        train_location, {"data": [datasets[n] for n in todo], "config": unmapped(config)}
    )
    return collect(todo, futures, failures, "training"), failures


def train_and_track(
    prepared: Prepared,
    locations: list[str],
    config: TrainingConfig,
    context: RunContext,
    parent_run_id: str,
    runner: TaskRunner,
    units: dict[str, str] | None = None,
    force: bool = False,
) -> TrainingRound:
    """Windows, training, then per location (through the runner) evaluation and tracking.

    With `units` (kind is retrain), a location whose unit already has a finished run is reused
    rather than trained again, a crashed one is done again, and new runs carry their unit key.
    """
    datasets, failures = windows(prepared, locations, config.timestep, config.horizon)
    keys = {name: units[name] for name in datasets} if units else {}
    plan = plan_work(context.kind, context.as_of, keys, force) if units else None
    todo = plan.todo if plan else list(datasets)
    failures.update(plan.busy if plan else {})
    trained: dict[str, TrainedModel] = {}
    if todo:
        trained, training_failures = train_locations(datasets, todo, config, runner)
        failures.update(training_failures)
    ready = [name for name in todo if name in trained]
    extras = [RunExtras(tags={UNIT_TAG: keys[name]}) if keys else None for name in ready]
    data, models = [datasets[n] for n in ready], [trained[n] for n in ready]
    evaluations = runner.map(evaluate, {"data": data, "trained": models})
    tracking = runner.map(
        track_location,
        {
            "parent_run_id": unmapped(parent_run_id),
            "context": unmapped(context),
            "data": data,
            "trained": models,
            "evaluation": evaluations,
            "extras": extras,
        },
    )
    tracked = {name: tracked_from_run(run) for name, run in (plan.finished if plan else {}).items()}
    collect(ready, evaluations, failures, "evaluation")
    tracked.update(collect(ready, tracking, failures, "tracking"))
    return TrainingRound(datasets, trained, tracked, failures)


def finish(
    table: pd.DataFrame, failures: dict[str, str], parent_run_id: str, out: Path, kind: str
) -> None:
    """Publish the metrics, close the parent run, and fail the flow naming any failed location."""
    publish_metrics(table, out, key=f"{kind}-metrics", description=f"tempcast {kind}: test metrics")
    summary = {**summary_metrics(table), "locations_trained": len(table)}
    close_parent(parent_run_id, {"metrics.csv": table}, summary, failures)
    if failures:
        raise LocationsFailed(failures, format_table(table) if len(table) else "")


@flow(name="train", task_runner=ThreadPoolTaskRunner(max_workers=4))
def train_flow(
    locations: list[str] | None = None,
    recipe: RecipeName = "default",
    selection: SelectionMethod = "auto",
    training: TrainingOverrides | None = None,
    task_runner: RunnerKind = "thread",
    concurrency: int = 4,
    dask_address: str | None = None,
    data: str | None = None,
    out: str = "outputs",
) -> pd.DataFrame:
    """Train, evaluate and register a model per location (all locations when none are named).

    The per-location work runs `concurrency` at a time in threads, or on Dask (`task_runner`).
    """
    config = training_config(recipe, training)
    ensure_folder(Path(out))
    ingested = ingest(resolve_data_path(Path(data) if data else None))
    prepared = prepare_table(ingested, selection)
    chosen = choose_locations(prepared.locations, locations)
    context = RunContext(config, selection, prepared.months[-1], prepared.digest, kind="train")
    parent_run_id = start_parent(
        f"train {context.as_of}", context.params("all"), {"tempcast.kind": "train"}
    )
    with fan_out_runner(task_runner, concurrency, dask_address) as runner:
        trained = train_and_track(prepared, chosen, config, context, parent_run_id, runner)
    finish(trained.table, trained.failures, parent_run_id, Path(out), "train")
    return trained.table
