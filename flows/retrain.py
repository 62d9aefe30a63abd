"""The retrain flow, tempcast's monthly job: cut the data at as_of, score the forecasts
published before whose months have arrived, retrain every location, promote a model only when
it earns it, publish the champions' forecasts and record them in the forecast history."""

import dataclasses
from dataclasses import dataclass
from datetime import datetime

import pandas as pd
from prefect import flow, runtime

from flows.batches import start_units
from tasks.data.asof import AsOf, resolve_as_of
from tasks.data.ingest import ingest_observations, resolve_data_path
from tasks.data.monthly import truth_table
from tasks.data.prepared import prepare_data
from tasks.logs import run_logger
from tasks.pipeline.units import UnitSpec, finish_units
from tasks.publish.forecasts import publish_forecasts, record_forecasts
from tasks.publish.live import LiveAccuracy, publish_live_accuracy, score_live_forecasts
from tasks.publish.outputs import ensure_folder
from tasks.publish.prepared import write_prepared
from tasks.publish.reports import retrain_report, with_decisions
from tasks.settings import RunSettings


@dataclass(frozen=True)
class RetrainResult:
    """The per-location table (metrics and decisions), the forecasts, the cut-off used, and the
    live accuracy of the forecasts published before."""

    table: pd.DataFrame
    forecasts: pd.DataFrame
    as_of: AsOf
    live: LiveAccuracy | None = None


def scheduled_start() -> datetime | None:
    """The scheduled start of a deployment's run; None when the flow is called directly."""
    return runtime.flow_run.scheduled_start_time if runtime.deployment.id else None


@flow(name="retrain")
def retrain_flow(
    as_of: str | None = None, force: bool = False, settings: RunSettings | None = None
) -> RetrainResult:
    """Score the earlier forecasts, retrain every location on data cut at as_of, promote by the
    rule, forecast ahead and record the forecasts.

    Repeating it for the same as_of, settings and data retrains nothing (unless `force`) and
    adds no row to the forecast history, and a run that crashed part way is completed by
    starting it again.
    """
    run = settings or RunSettings()
    places = run.places()
    out = ensure_folder(places.out_folder("retrain"))
    ingested = ingest_observations(resolve_data_path(places.data))
    cutoff = resolve_as_of(as_of, ingested.last_date, scheduled_start())
    if cutoff.stale:
        run_logger().warning(cutoff.note)
    prepared = prepare_data(ingested, run.selection, run.rules, cutoff.month)
    history = places.history_uri
    live = score_live_forecasts(history, truth_table(ingested, cutoff.month), cutoff.label)
    started = start_units("retrain", run, places, prepared, force, cutoff)
    parent_run_id = started.parent_run_id
    publish_live_accuracy(live, out, parent_run_id)
    units = started.run_units(UnitSpec("retrain", promote=True, forecast=True), force)
    if len(units.forecasts):
        publish_forecasts(units.forecasts, prepared.table, out, parent_run_id)
        record_forecasts(units.forecasts, prepared.table, history)
    report = retrain_report(prepared.report, cutoff, units.decisions, live.report())
    write_prepared(dataclasses.replace(prepared, report=report), out)
    table = with_decisions(units.table, units.decisions, units.forecasts)
    finish_units(table, units.failures, parent_run_id, out, "retrain")
    return RetrainResult(table, units.forecasts, cutoff, live)
