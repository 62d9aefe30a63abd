"""The unit pipeline: every location's unit of work, as train, retrain and backfill all run it.

A unit is one location as of one month with given settings and data. For a batch of units:
plan (reuse finished units, clear crashed ones), fit (the evaluation fit on what was known at
the test window's origin, scored beside both baselines; then, with `refit`, the production fit
on everything known at as_of: fits.py), track (one child run per location, its model registered
unless the spec says otherwise: records.py, tracking.py), and, as the spec asks, score the
production forecast against what happened (backfill), promote (each chunk of locations as soon
as it is tracked: promotion.py), and forecast from the champions (retrain: forecasting.py).
"""

import time
from pathlib import Path

import pandas as pd

from tasks.data.locations import location_series
from tasks.data.prepared import Prepared
from tasks.logs import run_logger
from tasks.model.backtests import rescored
from tasks.pipeline.batch import Batch, UnitResults, UnitSpec
from tasks.pipeline.failures import LocationsFailed
from tasks.pipeline.fits import FittedUnits, fit_todo
from tasks.pipeline.forecasting import forecast_all
from tasks.pipeline.plan import plan_units
from tasks.pipeline.promotion import Promotions
from tasks.pipeline.records import BACKTEST_ARTIFACT
from tasks.pipeline.tracking import track_units
from tasks.places import FILES
from tasks.publish.reports import format_table, publish_metrics, summary_metrics
from tasks.tracking.runs import close_parent_run, read_artifact_table, tracked_from_run

__all__ = ["Batch", "UnitResults", "UnitSpec", "finish_units", "run_units"]


def reuse_finished(
    results: UnitResults, batch: Batch, spec: UnitSpec, names: list[str]
) -> list[str]:
    """Plan the units: keep the finished ones (with their backtest rows), name the busy ones
    as failures; the names of the units to do."""
    keys = {n: batch.key(spec.kind, n) for n in names}
    plan = plan_units(spec.kind, batch.context.as_of, keys, batch.force)
    results.failures.update(plan.busy)
    for name, run in plan.finished.items():
        results.tracked[name] = tracked_from_run(run)
        if spec.truth is not None:
            stored = read_artifact_table(run.info.run_id, BACKTEST_ARTIFACT)
            results.backtest.append(rescored(stored, spec.truth))  # corrections since then
        results.reused.append(name)
    return plan.todo


def run_units(
    prepared: Prepared, locations: list[str], batch: Batch, spec: UnitSpec
) -> UnitResults:
    """Plan, fit, evaluate and track every location's unit; then score, promote and forecast as
    the spec asks. A location that fails is reported and does not stop the others."""
    started = time.monotonic()
    results = UnitResults(series=location_series(prepared, locations))
    todo = reuse_finished(results, batch, spec, locations)
    fitted = fit_todo(results.series, todo, batch, spec) if todo else FittedUnits()
    results.failures.update({n: why for n, why in fitted.failures.items() if n in todo})
    ready = {n: fitted.units[n] for n in todo if n in fitted.units}
    promotions = None
    if spec.promote:
        promotions = Promotions(results, [*results.reused, *ready], batch)
        promotions.start(results.reused)
    track_units(results, ready, batch, spec, promotions)
    run_logger().info(
        f"as_of {batch.context.as_of}: {len(results.trained)} of {len(locations)} locations"
        f" trained and tracked, {len(results.reused)} reused"
        f" ({time.monotonic() - started:.0f} s)"
    )
    if promotions is not None:
        promotions.finish()
    if spec.forecast:
        forecast_all(results, fitted, batch)
    return results


def finish_units(
    table: pd.DataFrame, failures: dict[str, str], parent_run_id: str, out: Path, kind: str
) -> None:
    """Publish the metrics, close the parent run, and fail naming any failed location."""
    publish_metrics(table, out, key=f"{kind}-metrics", description=f"tempcast {kind}: test metrics")
    summary = {**summary_metrics(table), "locations_trained": len(table)}
    close_parent_run(parent_run_id, {FILES.metrics: table}, summary, failures)
    if failures:
        raise LocationsFailed(failures, format_table(table) if len(table) else "")
