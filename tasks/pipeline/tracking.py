"""Tracking a batch's fitted units in chunks: one child run per location, logged by the runner
while the next chunk's records (their models saved) are made."""

from dataclasses import dataclass

from prefect import unmapped

from tasks.logs import run_logger
from tasks.model.backtests import BACKTEST_COLUMNS
from tasks.pipeline.batch import Batch, UnitResults, UnitSpec
from tasks.pipeline.failures import Progress, collect
from tasks.pipeline.fits import UnitFit
from tasks.pipeline.promotion import Promotions
from tasks.pipeline.records import BACKTEST_ARTIFACT, chunk_records
from tasks.tracking.runs import RunRecord, log_location_run

# Locations whose run records (each with its standalone model) are built and tracked at a time:
# memory stays bounded however many locations there are.
TRACKING_CHUNK = 64


@dataclass(frozen=True)
class Chunk:
    """A chunk of locations being tracked: their names, the runner's futures, their records."""

    names: list[str]
    futures: list
    records: list[RunRecord]


def track_units(
    results: UnitResults,
    units: dict[str, UnitFit],
    batch: Batch,
    spec: UnitSpec,
    promotions: Promotions | None = None,
) -> None:
    """Track the fitted units, TRACKING_CHUNK locations at a time: while the runner logs one
    chunk, the next chunk's records (their models saved) are made, so that a runner of worker
    processes never waits for them; at most two chunks' records are held at once. With
    `promotions`, each chunk's promotion starts as soon as it is tracked."""
    names = list(units)
    progress = Progress("tracking", len(names), run_logger().info)
    submitted: list[Chunk] = []
    for start in range(0, len(names), TRACKING_CHUNK):
        chunk = names[start : start + TRACKING_CHUNK]
        records = chunk_records(results.series, {n: units[n] for n in chunk}, batch, spec)
        futures = batch.runner.map(
            log_location_run,
            {
                "parent_run_id": unmapped(batch.parent_run_id),
                "context": unmapped(batch.context),
                "record": records,
            },
        )
        submitted.append(Chunk(chunk, futures, records))
        if len(submitted) == 2:
            collect_tracked(results, submitted.pop(0), progress, promotions)
    for pending in submitted:
        collect_tracked(results, pending, progress, promotions)


def collect_tracked(
    results: UnitResults, chunk: Chunk, progress: Progress, promotions: Promotions | None = None
) -> None:
    """Wait for a chunk's tracking; keep its tracked locations and backtest rows, and start
    their promotion (with `promotions`)."""
    tracked = collect(chunk.names, chunk.futures, results.failures, "tracking", progress)
    results.tracked.update(tracked)
    results.trained.extend(tracked)
    if promotions is not None:
        promotions.start(list(tracked))
    for record in chunk.records:
        if record.location in tracked and BACKTEST_ARTIFACT in record.tables:
            results.backtest.append(record.tables[BACKTEST_ARTIFACT][BACKTEST_COLUMNS])
