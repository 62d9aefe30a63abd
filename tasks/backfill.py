"""Backfill units: one (location, as_of, config, data) each, trained at most once.

A unit that already has a FINISHED run is reused (its backtest rows are read back from the run)
unless forced, and a crashed one is done again (tasks.units). Nothing here touches the
registry: backfills never register versions or move aliases.
"""

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from prefect import get_run_logger, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE

from tasks.backtest import BACKTEST_COLUMNS, backtest_rows, overall, summarise
from tasks.charts import mae_by_step_html, mae_by_step_png, write_html, write_png
from tasks.config import TrainingConfig
from tasks.datasets import LocationData, location_datasets
from tasks.errors import TempcastError
from tasks.evaluation import evaluate_location
from tasks.ingest import IngestResult
from tasks.model import predict
from tasks.outputs import ensure_folder, write_csv
from tasks.prepared import Prepared, prepare_data
from tasks.tracking import (
    RunContext,
    RunExtras,
    attach_files,
    log_location_run,
    read_artifact_table,
)
from tasks.training import Log, TrainedModel, train_all
from tasks.units import UNIT_TAG, plan_units, unit_key
from tasks.windows import required_months

BACKTEST_ARTIFACT = "backtest/backtest.csv"


@dataclass(frozen=True)
class Origin:
    """One as_of of a backfill and its data, cut at the end of that month."""

    as_of: str
    prepared: Prepared


@dataclass
class OriginResult:
    """Backtest rows of one origin, which units were trained or reused, and failures."""

    as_of: str
    rows: list[pd.DataFrame] = field(default_factory=list)
    trained: list[str] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)


def prepare_origins(
    ingested: IngestResult, months: list[str], selection: str, config: TrainingConfig
) -> list[Origin]:
    """Cut and prepare the data at every as_of, and refuse the range before any training when
    an as_of is outside the data or leaves too few months for the window sizes."""
    needed = required_months(config.timestep, config.horizon)
    origins = []
    for as_of in months:
        prepared = prepare_data(ingested, selection, pd.Period(as_of, freq="M"))
        if prepared.months[-1] != as_of:
            raise TempcastError(
                f"as_of {as_of} is outside the data (its months end at {prepared.months[-1]})"
            )
        if len(prepared.months) < needed:
            raise TempcastError(
                f"as_of {as_of} leaves {len(prepared.months)} months of data;"
                f" timestep {config.timestep} and horizon {config.horizon} need {needed}"
            )
        origins.append(Origin(as_of, prepared))
    return origins


def _track_unit(
    data: LocationData,
    trained: TrainedModel,
    context: RunContext,
    parent_run_id: str,
    truth: pd.DataFrame,
    tags: dict[str, str],
) -> pd.DataFrame:
    """Evaluate, backtest and log one unit; returns its backtest rows."""
    model = trained.model
    evaluation = evaluate_location(
        data, predict(model, data.split.test.x)[-1], predict(model, data.split.train.x)
    )
    timestep = data.split.test.x.shape[1]
    forecast = predict(model, data.series[-timestep:].reshape(1, timestep, 1))[0]
    rows = backtest_rows(
        data.location, data.series, data.months, forecast.astype(np.float64), truth
    )
    extras = RunExtras(tags=tags, metrics=overall(rows), tables={BACKTEST_ARTIFACT: rows})
    log_location_run(parent_run_id, context, data, trained, evaluation, extras)
    return rows


def log_dropped_locations(origin: Origin, log: Log) -> None:
    """Say which locations the selection left out as of this origin, and why."""
    for name, reason in origin.prepared.report["locations_dropped"].items():
        log(f"as_of {origin.as_of}: {name} is not backfilled: {reason}")


@task(name="backtest-origin", cache_policy=NO_CACHE)
def backtest_origin(
    origin: Origin,
    locations: list[str] | None,
    config: TrainingConfig,
    selection: str,
    truth: pd.DataFrame,
    parent_run_id: str,
    range_label: str,
    force: bool,
) -> OriginResult:
    """Prefect task: every unit of one as_of (`locations`, or every location kept as of it
    when None); reuse what is done, train and track the rest."""
    log = get_run_logger().info
    result = OriginResult(origin.as_of)
    if locations is None:
        log_dropped_locations(origin, log)
        locations = list(origin.prepared.locations)
    present = [name for name in locations if name in origin.prepared.locations]
    for name in set(locations) - set(present):
        result.failures[name] = f"not in the data kept as of {origin.as_of}"
    datasets, failures = location_datasets(
        origin.prepared, present, config.timestep, config.horizon
    )
    result.failures.update(failures)
    digest = origin.prepared.digest
    keys = {
        name: unit_key("backfill", name, origin.as_of, config, selection, digest)
        for name in datasets
    }
    plan = plan_units("backfill", origin.as_of, keys, force)
    result.failures.update(plan.busy)
    for name, run in plan.finished.items():
        result.rows.append(read_artifact_table(run.info.run_id, BACKTEST_ARTIFACT))
        result.reused.append(name)
    todo = plan.todo
    if not todo:
        log(f"as_of {origin.as_of}: all {len(result.reused)} units already done, nothing to train")
        return result
    together = config.strategy == "global"  # retrain the whole origin so results match a clean run
    trained, failures = train_all(
        [datasets[name] for name in (datasets if together else todo)], config, log
    )
    result.failures.update({name: reason for name, reason in failures.items() if name in todo})
    context = RunContext(config, selection, origin.as_of, digest, kind="backfill", register=False)
    for name in todo:
        if name not in trained:
            continue
        tags = {UNIT_TAG: keys[name], "tempcast.backfill": range_label}
        try:
            rows = _track_unit(datasets[name], trained[name], context, parent_run_id, truth, tags)
        except Exception as error:  # one unit's failure must not stop the others
            result.failures[name] = f"{type(error).__name__}: {error}"
            continue
        result.rows.append(rows[BACKTEST_COLUMNS])
        result.trained.append(name)
    return result


@task(name="publish-backtest", cache_policy=NO_CACHE)
def publish_backtest(
    rows: pd.DataFrame, out: Path, parent_run_id: str, title: str
) -> dict[str, pd.DataFrame]:
    """Write backtest.csv, the MAE summaries by step and by location (CSV, Prefect table
    artifacts) and the MAE-by-step chart (HTML, PNG), and attach the files to the parent run."""
    ensure_folder(out)
    summaries = {"by_step": summarise(rows, "step"), "by_location": summarise(rows, "location")}
    files = [write_csv(rows, out / "backtest.csv")]
    for name, summary in summaries.items():
        files.append(write_csv(summary, out / f"backtest_{name}.csv"))
        create_table_artifact(
            key=f"backtest-{name.replace('_', '-')}",
            table=summary.round(4).to_dict(orient="records"),
            description=f"{title}: MAE {name.replace('_', ' ')} against both baselines",
        )
    by_step = summaries["by_step"]
    files.append(write_html(mae_by_step_html(by_step, title), out / "backtest_by_step.html"))
    files.append(write_png(mae_by_step_png(by_step, title), out / "backtest_by_step.png"))
    attach_files(parent_run_id, files, "backtest")
    return summaries
