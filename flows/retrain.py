"""The retrain flow, tempcast's monthly job: cut the data at as_of, retrain every location,
promote a model only when it beats production on the newest holdout, publish the forecasts."""

import dataclasses
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pandas as pd
from prefect import flow, get_run_logger, runtime
from prefect.futures import wait
from prefect.task_runners import ThreadPoolTaskRunner

from flows.prepare import prepare_table
from flows.train import TrainingRound, finish, outcome, train_and_track
from tasks.asof import AsOf, resolve_as_of
from tasks.config import RecipeName, SelectionMethod, TrainingOverrides, training_config
from tasks.datasets import choose_locations
from tasks.forecasting import FORECAST_COLUMNS, forecast, publish_forecasts
from tasks.ingest import ingest, resolve_data_path
from tasks.prepared import Prepared, write_prepared_outputs
from tasks.promotion import Decision, promote
from tasks.tracking import RunContext, start_parent


@dataclass(frozen=True)
class RetrainResult:
    """The per-location table (metrics and decisions), the forecasts, and the cut-off used."""

    table: pd.DataFrame
    forecasts: pd.DataFrame
    as_of: AsOf


def scheduled_start() -> datetime | None:
    """The scheduled start of a deployment's run; None when the flow is called directly."""
    return runtime.flow_run.scheduled_start_time if runtime.deployment.id else None


def promote_all(trained: TrainingRound) -> dict[str, Decision]:
    """Promotion for every tracked location, in parallel; failures join `trained.failures`."""
    names = list(trained.tracked)
    futures = promote.map([trained.datasets[n] for n in names], [trained.tracked[n] for n in names])
    wait(futures)
    decisions = {}
    for name, future in zip(names, futures, strict=True):
        decision, reason = outcome(future)
        if decision is None:
            trained.failures[name] = f"promotion failed: {reason}"
        else:
            decisions[name] = decision
    return decisions


def forecast_all(
    trained: TrainingRound, decisions: dict[str, Decision], as_of: str
) -> pd.DataFrame:
    """The production model's forecast for every location that has one."""
    names = list(decisions)
    futures = forecast.map(
        [trained.datasets[n] for n in names],
        [decisions[n] for n in names],
        [trained.trained[n] for n in names],
        as_of,
    )
    frames = []
    for name, future in zip(names, futures, strict=True):
        frame, reason = outcome(future)
        if frame is None:
            trained.failures[name] = f"forecast failed: {reason}"
        elif len(frame):
            frames.append(frame)
    return (
        pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=FORECAST_COLUMNS)
    )


def with_decisions(table: pd.DataFrame, decisions: dict[str, Decision]) -> pd.DataFrame:
    """Add each location's promotion outcome to its metrics row."""
    return table.assign(
        promoted=[decisions[n].promoted if n in decisions else None for n in table["location"]],
        champion_version=[
            decisions[n].production_version if n in decisions else None for n in table["location"]
        ],
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
    data: str | None = None,
    out: str = "outputs",
) -> RetrainResult:
    """Retrain every location on data cut at as_of, promote better models, forecast ahead."""
    config = training_config(recipe, training)
    ingested = ingest(resolve_data_path(Path(data) if data else None))
    cutoff = resolve_as_of(as_of, ingested.last_date, scheduled_start())
    if cutoff.stale:
        get_run_logger().warning(cutoff.note)
    prepared = prepare_table(ingested, selection, cutoff.month)
    chosen = choose_locations(prepared.locations, locations)
    context = RunContext(config, selection, cutoff.label, prepared.digest, kind="retrain")
    parent_run_id = start_parent(
        f"retrain {cutoff.label}",
        context.params("all"),
        {
            "tempcast.kind": "retrain",
            "tempcast.as_of": cutoff.label,
            "tempcast.stale": str(cutoff.stale),
        },
    )
    trained = train_and_track(prepared, chosen, config, context, parent_run_id)
    decisions = promote_all(trained)
    forecasts = forecast_all(trained, decisions, cutoff.label)
    if len(forecasts):
        publish_forecasts(forecasts, prepared.table, Path(out), parent_run_id)
    write_prepared_outputs(report_with_as_of(prepared, cutoff, decisions), Path(out))
    table = with_decisions(trained.table, decisions)
    finish(table, trained.failures, parent_run_id, Path(out), "retrain")
    return RetrainResult(table, forecasts, cutoff)
