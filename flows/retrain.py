"""The retrain flow, tempcast's monthly job: cut the data at as_of, retrain every location,
promote a model only when it beats production on the newest holdout, publish the forecasts."""

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd
from prefect import flow, get_run_logger, runtime, unmapped
from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner

from flows.prepare import prepare_table
from flows.runners import RunnerKind, fan_out_runner
from flows.train import TrainingRound, collect, finish, train_and_track
from tasks.asof import AsOf, resolve_as_of
from tasks.config import RecipeName, SelectionMethod, TrainingOverrides, training_config
from tasks.datasets import choose_locations
from tasks.forecasting import FORECAST_COLUMNS, forecast, publish_forecasts
from tasks.ingest import ingest, resolve_data_path
from tasks.outputs import ensure_folder
from tasks.prepared import Prepared, write_prepared_outputs
from tasks.promotion import Decision, promote
from tasks.tracking import RunContext, start_parent
from tasks.units import short_hash, unit_key


@dataclass(frozen=True)
class RetrainResult:
    """The per-location table (metrics and decisions), the forecasts, and the cut-off used."""

    table: pd.DataFrame
    forecasts: pd.DataFrame
    as_of: AsOf


def scheduled_start() -> datetime | None:
    """The scheduled start of a deployment's run; None when the flow is called directly."""
    return runtime.flow_run.scheduled_start_time if runtime.deployment.id else None


def promote_all(trained: TrainingRound, runner: TaskRunner) -> dict[str, Decision]:
    """Promotion for every tracked location, through the runner; failures join the round's."""
    names = list(trained.tracked)
    futures = runner.map(
        promote,
        {
            "data": [trained.datasets[n] for n in names],
            "tracked": [trained.tracked[n] for n in names],
        },
    )
    return collect(names, futures, trained.failures, "promotion")


def forecast_all(trained: TrainingRound, as_of: str, runner: TaskRunner) -> pd.DataFrame:
    """The current champion's forecast for every location that has one, also those whose
    training failed this time (production keeps its forecasts)."""
    names = list(trained.datasets)
    versions = [trained.tracked[n].model_version if n in trained.tracked else "" for n in names]
    futures = runner.map(
        forecast,
        {
            "data": [trained.datasets[n] for n in names],
            "trained": [trained.trained.get(n) for n in names],
            "version": versions,
            "as_of": unmapped(as_of),
        },
    )
    frames = [f for f in collect(names, futures, trained.failures, "forecast").values() if len(f)]
    if not frames:
        return pd.DataFrame(columns=FORECAST_COLUMNS)
    return pd.concat(frames, ignore_index=True)


def with_decisions(
    table: pd.DataFrame, decisions: dict[str, Decision], forecasts: pd.DataFrame
) -> pd.DataFrame:
    """Add each location's promotion outcome and its champion version to its metrics row."""
    champions = forecasts.groupby("location")["model_version"].first().astype(str)
    return table.assign(
        promoted=[decisions[n].promoted if n in decisions else None for n in table["location"]],
        champion_version=[champions.get(n) for n in table["location"]],
    )


def report_with_as_of(prepared: Prepared, as_of: AsOf, decisions: dict[str, Decision]) -> Prepared:
    """The data report, plus how as_of was chosen, staleness, and the promotion decisions."""
    report = {
        **prepared.report,
        "as_of": as_of.label,
        "as_of_source": as_of.source,
        "stale": as_of.stale,
        "stale_note": as_of.note,
        "decisions": {name: decision.reason for name, decision in decisions.items()},
    }
    return dataclasses.replace(prepared, report=report)


@flow(name="retrain", task_runner=ThreadPoolTaskRunner(max_workers=4))
def retrain_flow(
    as_of: str | None = None,
    locations: list[str] | None = None,
    recipe: RecipeName = "default",
    selection: SelectionMethod = "auto",
    training: TrainingOverrides | None = None,
    force: bool = False,
    task_runner: RunnerKind = "thread",
    concurrency: int = 4,
    dask_address: str | None = None,
    data: str | None = None,
    out: str = "outputs",
) -> RetrainResult:
    """Retrain every location on data cut at as_of, promote better models, forecast ahead.

    Repeating it for the same as_of, settings and data retrains nothing (unless `force`), and a
    run that crashed part way is completed by starting it again.
    """
    config = training_config(recipe, training)
    ensure_folder(Path(out))
    ingested = ingest(resolve_data_path(Path(data) if data else None))
    cutoff = resolve_as_of(as_of, ingested.last_date, scheduled_start())
    if cutoff.stale:
        get_run_logger().warning(cutoff.note)
    prepared = prepare_table(ingested, selection, cutoff.month)
    chosen = choose_locations(prepared.locations, locations)
    context = RunContext(config, selection, cutoff.label, prepared.digest, kind="retrain")
    units = {
        name: unit_key("retrain", name, cutoff.label, config, selection, prepared.digest)
        for name in chosen
    }
    parent_run_id = start_parent(
        f"retrain {cutoff.label}",
        context.params("all"),
        {
            "tempcast.kind": "retrain-parent",
            "tempcast.as_of": cutoff.label,
            "tempcast.stale": str(cutoff.stale),
        },
        None if force else short_hash(*units.values()),
    )
    with fan_out_runner(task_runner, concurrency, dask_address) as runner:
        trained = train_and_track(
            prepared, chosen, config, context, parent_run_id, runner, units, force
        )
        decisions = promote_all(trained, runner)
        forecasts = forecast_all(trained, cutoff.label, runner)
    if len(forecasts):
        publish_forecasts(forecasts, prepared.table, Path(out), parent_run_id)
    write_prepared_outputs(report_with_as_of(prepared, cutoff, decisions), Path(out))
    table = with_decisions(trained.table, decisions, forecasts)
    finish(table, trained.failures, parent_run_id, Path(out), "retrain")
    return RetrainResult(table, forecasts, cutoff)
