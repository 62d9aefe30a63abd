"""The backfill flow: re-run the pipeline as of every month of a past range and backtest it.

Safe to repeat (finished units are reused), resumable after a crash (abandoned runs are marked
KILLED and redone), and it never touches production: no registered versions, no aliases, no
production forecasts.
"""

import dataclasses

from prefect import flow, unmapped

from tasks.backtest.origins import (
    BackfillJob,
    BackfillResult,
    backtest_origin,
    prepare_origins,
    publish_backtest,
    wait_for_origins,
)
from tasks.data.ingest import ingest_observations, resolve_data_path
from tasks.data.locations import choose_locations
from tasks.data.monthly import truth_table
from tasks.data.months import expand_range
from tasks.data.prepared import table_digest
from tasks.model.backtests import overall
from tasks.model.training import sharing_fits
from tasks.pipeline.failures import LocationsFailed
from tasks.pipeline.plan import batch_key
from tasks.pipeline.runners import fan_out_runner
from tasks.publish.outputs import ensure_folder
from tasks.publish.reports import format_summary
from tasks.settings import RunSettings, model_settings
from tasks.tracking.runs import close_parent_run, start_parent_run


@flow(name="backfill")
def backfill_flow(
    start: str, end: str, force: bool = False, settings: RunSettings | None = None
) -> BackfillResult:
    """Fit, track and backtest every location as of every month from `start` to `end`."""
    run = settings or RunSettings()
    config = run.config()
    places = run.places()
    out = ensure_folder(places.out_folder("backfill"))
    months = expand_range(start, end)
    ingested = ingest_observations(resolve_data_path(places.data))
    origins = prepare_origins(ingested, months, run.selection, run.rules, config)
    available = sorted({name for origin in origins for name in origin.prepared.locations})
    chosen = choose_locations(available, run.locations)
    truth = truth_table(ingested)
    label = f"{months[0]}..{months[-1]}"
    settings_used = model_settings(config, run)
    parent_run_id = start_parent_run(
        f"backfill {label}",
        {**settings_used, "start": months[0], "end": months[-1]},
        {"tempcast.kind": "backfill-parent", "tempcast.backfill": label},
        batch_key("backfill", label, settings_used, table_digest(truth), chosen),
    )
    with fan_out_runner(run, places) as runner, sharing_fits():
        asked = chosen if run.locations else None
        job = BackfillJob(asked, config, settings_used, truth, parent_run_id, label, force)
        futures = runner.map(backtest_origin, {"origin": origins, "job": unmapped(job)})
        result = wait_for_origins(origins, futures)
    summaries = publish_backtest(result.rows, out, parent_run_id, f"backtest {label}")
    counts = {"units_trained": result.trained, "units_reused": result.reused}
    close_parent_run(parent_run_id, {}, {**overall(result.rows), **counts}, result.failures)
    if result.failures:
        by_step = summaries["by_step"]
        raise LocationsFailed(result.failures, format_summary(by_step) if len(by_step) else "")
    return dataclasses.replace(result, summaries=summaries)
