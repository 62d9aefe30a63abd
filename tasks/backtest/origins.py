"""Backfill origins: the data as of each month of a range, and each origin's units.

A unit that already has a FINISHED run is reused (its backtest rows are read back from the run)
unless forced, and a crashed one is done again (tasks.pipeline.plan). Nothing here touches the
registry: backfills never register versions or move aliases.
"""

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from prefect import task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE
from prefect.futures import PrefectFuture
from prefect.task_runners import ThreadPoolTaskRunner

from tasks.data.ingest import IngestResult
from tasks.data.months import last_complete_month
from tasks.data.prepared import Prepared, prepare_data
from tasks.data.rules import SelectionMethod, SelectionRules
from tasks.errors import TempcastError
from tasks.logs import run_logger
from tasks.model.backtests import BACKTEST_COLUMNS, summarise
from tasks.model.settings import TrainingConfig
from tasks.pipeline.failures import outcome
from tasks.pipeline.units import Batch, UnitSpec, run_units
from tasks.places import FILES
from tasks.publish.charts import mae_by_step_html, mae_by_step_png, write_html, write_png
from tasks.publish.outputs import ensure_folder, write_csv
from tasks.tracking.runs import RunContext, attach_files

TRACKING_THREADS = 2


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
    ingested: IngestResult,
    months: list[str],
    selection: SelectionMethod,
    rules: SelectionRules,
    config: TrainingConfig,
) -> list[Origin]:
    """Cut and prepare the data at every as_of, and refuse the range before any training when
    an as_of is after the data or leaves too few months for one training window.

    An as_of whose own month no kept location observed (the data has a hole there) forecasts
    from the month before it, and says so.
    """
    complete = last_complete_month(ingested.last_date)
    needed = config.timestep + config.horizon
    origins = []
    for as_of in months:
        if pd.Period(as_of, freq="M") > complete:
            raise TempcastError(
                f"as_of {as_of} is outside the data (its last complete month is {complete})"
            )
        prepared = prepare_data(ingested, selection, rules, pd.Period(as_of, freq="M"))
        if len(prepared.months) < needed:
            raise TempcastError(
                f"as_of {as_of} leaves {len(prepared.months)} months of data;"
                f" timestep {config.timestep} and horizon {config.horizon} need {needed}"
            )
        if prepared.months[-1] != as_of:
            run_logger().warning(
                f"as_of {as_of}: no kept location has data for {as_of}; its forecasts start"
                f" after {prepared.months[-1]}, the last month with data"
            )
        origins.append(Origin(as_of, prepared))
    return origins


@dataclass(frozen=True)
class BackfillJob:
    """What every origin of one backfill shares: the locations asked for (None: every location
    kept as of each origin), the training and model settings, the truth table, the parent run,
    the range's label, and whether finished units are trained again (`force`)."""

    locations: list[str] | None
    config: TrainingConfig
    settings: dict[str, Any]
    truth: pd.DataFrame
    parent_run_id: str
    label: str
    force: bool = False


@task(name="backtest-origin", cache_policy=NO_CACHE)
def backtest_origin(origin: Origin, job: BackfillJob) -> OriginResult:
    """Every unit of one as_of (the job's locations, or every location kept as of it): reuse
    what is done, fit, evaluate, track and backtest the rest."""
    log, locations = run_logger().info, job.locations
    result = OriginResult(origin.as_of)
    kept = origin.prepared.locations
    if locations is None:
        for name, reason in origin.prepared.report["locations_dropped"].items():
            log(f"as_of {origin.as_of}: {name} is not backfilled: {reason}")
        locations = kept
    for name in sorted(set(locations) - set(kept)):
        result.failures[name] = f"not in the data kept as of {origin.as_of}"
    present = [name for name in locations if name in kept]
    spec = UnitSpec(
        "backfill",
        register=False,
        evaluate=False,
        models=False,
        truth=job.truth,
        tags={"tempcast.backfill": job.label},
    )
    digest = origin.prepared.digest
    context = RunContext(job.settings, origin.as_of, digest, "backfill", register=False)
    with ThreadPoolTaskRunner(max_workers=TRACKING_THREADS) as runner:
        batch = Batch(job.config, context, job.parent_run_id, runner, job.force)
        units = run_units(origin.prepared, present, batch, spec)
    result.rows, result.trained, result.reused = units.backtest, units.trained, units.reused
    result.failures.update(units.failures)
    return result


@task(name="publish-backtest", cache_policy=NO_CACHE)
def publish_backtest(
    rows: pd.DataFrame, out: Path, parent_run_id: str, title: str
) -> dict[str, pd.DataFrame]:
    """Write backtest.csv, the MAE summaries by step and by location (CSV, Prefect table
    artifacts) and the MAE-by-step chart (HTML, PNG), and attach the files to the parent run."""
    ensure_folder(out)
    summaries = {"by_step": summarise(rows, "step"), "by_location": summarise(rows, "location")}
    files = [write_csv(rows, out / FILES.backtest)]
    for name, summary in summaries.items():
        files.append(write_csv(summary, out / FILES.backtest_summary.format(name=name)))
        create_table_artifact(
            key=f"backtest-{name.replace('_', '-')}",
            table=summary.round(4).to_dict(orient="records"),
            description=f"{title}: MAE {name.replace('_', ' ')} against both baselines",
        )
    by_step = summaries["by_step"]
    files.append(write_html(mae_by_step_html(by_step, title), out / FILES.backtest_by_step_html))
    files.append(write_png(mae_by_step_png(by_step, title), out / FILES.backtest_by_step_png))
    attach_files(parent_run_id, files, "backtest")
    return summaries


@dataclass(frozen=True)
class BackfillResult:
    """The backtest rows, their MAE summaries (once published), the failures (named by location
    and as_of), and how many units were trained or reused."""

    rows: pd.DataFrame
    failures: dict[str, str]
    trained: int
    reused: int
    summaries: dict[str, pd.DataFrame] = field(default_factory=dict)


def wait_for_origins(origins: list[Origin], futures: list[PrefectFuture]) -> BackfillResult:
    """Every origin's result as it finishes (logged with the elapsed time), combined: all
    backtest rows in order, every failure, and the trained and reused counts."""
    log, started = run_logger().info, time.monotonic()
    results = []
    for number, (origin, future) in enumerate(zip(origins, futures, strict=True), start=1):
        done = outcome(future)
        result = done.result or OriginResult(origin.as_of, failures={"all": str(done.failure)})
        results.append(result)
        log(
            f"backfill: origin {number} of {len(origins)} done (as_of {origin.as_of}:"
            f" {len(result.trained)} trained, {len(result.reused)} reused,"
            f" {len(result.failures)} failed; {time.monotonic() - started:.0f} s)"
        )
    frames = [frame for result in results for frame in result.rows]
    rows = (
        pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=BACKTEST_COLUMNS)
    )
    return BackfillResult(
        rows=rows.sort_values(["as_of", "location", "step"], ignore_index=True),
        failures={
            f"{name} as of {result.as_of}": reason
            for result in results
            for name, reason in result.failures.items()
        },
        trained=sum(len(result.trained) for result in results),
        reused=sum(len(result.reused) for result in results),
    )
