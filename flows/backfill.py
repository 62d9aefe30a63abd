"""The backfill flow: re-run the pipeline as of every month of a past range and backtest it.

Safe to repeat (finished units are reused), resumable after a crash (abandoned runs are marked
KILLED and redone), and it never touches production: no registered versions, no aliases, no
production forecasts.
"""

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from prefect import flow, get_run_logger

from flows.runners import RunnerKind, fan_out_runner
from flows.train import LocationsFailed, outcome
from tasks.backfill import OriginResult, backtest_origin, prepare_origins, publish_backtest
from tasks.backtest import BACKTEST_COLUMNS, expand_range, overall, truth_table
from tasks.config import RecipeName, SelectionMethod, TrainingOverrides, training_config
from tasks.datasets import choose_locations
from tasks.ingest import ingest, resolve_data_path
from tasks.outputs import ensure_folder
from tasks.prepared import table_digest
from tasks.reporting import format_summary
from tasks.tracking import close_parent, start_parent
from tasks.units import short_hash


@dataclass(frozen=True)
class BackfillResult:
    """The backtest rows, the MAE summaries, and how many units were trained or reused."""

    rows: pd.DataFrame
    summaries: dict[str, pd.DataFrame]
    trained: int
    reused: int


def collect(results: list[OriginResult]) -> tuple[pd.DataFrame, dict[str, str], int, int]:
    """All backtest rows, every failure (named by as_of and location), trained and reused counts."""
    frames = [frame for result in results for frame in result.rows]
    rows = (
        pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=BACKTEST_COLUMNS)
    )
    failures = {
        f"{name} as of {result.as_of}": reason
        for result in results
        for name, reason in result.failures.items()
    }
    trained = sum(len(result.trained) for result in results)
    reused = sum(len(result.reused) for result in results)
    return (
        rows.sort_values(["as_of", "location", "step"], ignore_index=True),
        failures,
        trained,
        reused,
    )


@flow(name="backfill")
def backfill_flow(
    start: str,
    end: str,
    locations: list[str] | None = None,
    recipe: RecipeName = "default",
    selection: SelectionMethod = "auto",
    training: TrainingOverrides | None = None,
    force: bool = False,
    concurrency: int = 2,
    task_runner: RunnerKind = "thread",
    dask_address: str | None = None,
    data: str | None = None,
    out: str = "outputs/backfill",
) -> BackfillResult:
    """Train, track and backtest every location as of every month from `start` to `end`."""
    config = training_config(recipe, training)
    ensure_folder(Path(out))
    months = expand_range(start, end)
    ingested = ingest(resolve_data_path(Path(data) if data else None))
    origins = prepare_origins(ingested, months, selection, config)
    available = sorted({name for origin in origins for name in origin.prepared.locations})
    chosen = choose_locations(available, locations)
    truth = truth_table(ingested)
    label = f"{months[0]}..{months[-1]}"
    key = short_hash(
        label, ",".join(chosen), config.model_dump_json(), selection, table_digest(truth)
    )
    parent_run_id = start_parent(
        f"backfill {label}",
        {**config.model_dump(), "selection": selection, "start": months[0], "end": months[-1]},
        {"tempcast.kind": "backfill-parent", "tempcast.backfill": label},
        key,
    )
    with fan_out_runner(task_runner, concurrency, dask_address) as runner:
        futures = [
            runner.submit(
                backtest_origin,
                parameters={
                    "origin": origin,
                    "locations": chosen if locations else None,
                    "config": config,
                    "selection": selection,
                    "truth": truth,
                    "parent_run_id": parent_run_id,
                    "range_label": label,
                    "force": force,
                },
            )
            for origin in origins
        ]
        results = []
        for origin, future in zip(origins, futures, strict=True):
            result, reason = outcome(future)
            results.append(result or OriginResult(origin.as_of, failures={"all": str(reason)}))
    rows, failures, trained, reused = collect(results)
    get_run_logger().info(f"backfill {label}: {trained} units trained, {reused} reused")
    summaries = publish_backtest(rows, Path(out), parent_run_id, f"backtest {label}")
    counts = {"units_trained": trained, "units_reused": reused}
    close_parent(parent_run_id, {}, {**overall(rows), **counts}, failures)
    if failures:
        by_step = summaries["by_step"]
        raise LocationsFailed(failures, format_summary(by_step) if len(by_step) else "")
    return BackfillResult(rows, summaries, trained, reused)
