"""The train flow: prepare the data, then fit, evaluate, track and register every location."""

from pathlib import Path

import pandas as pd
from prefect import flow

from tasks.data.ingest import ingest_observations, resolve_data_path
from tasks.data.locations import choose_locations
from tasks.data.prepared import prepare_data
from tasks.pipeline.plan import batch_key
from tasks.pipeline.runners import fan_out_runner
from tasks.pipeline.units import UnitSpec, finish_units, run_units
from tasks.publish.outputs import ensure_folder
from tasks.settings import RunSettings, model_settings
from tasks.tracking.runs import RunContext, start_parent_run


@flow(name="train")
def train_flow(settings: RunSettings | None = None, force: bool = False) -> pd.DataFrame:
    """Fit, evaluate and register a model per location (all locations when none are named);
    units already trained with the same settings and data are reused unless `force`."""
    run = settings or RunSettings()
    config = run.config()
    out = ensure_folder(Path(run.out or "outputs"))
    ingested = ingest_observations(resolve_data_path(run.data))
    prepared = prepare_data(ingested, run.selection, run.rules)
    chosen = choose_locations(prepared.locations, run.locations)
    context = RunContext(model_settings(config, run), prepared.months[-1], prepared.digest, "train")
    parent_run_id = start_parent_run(
        f"train {context.as_of}",
        context.params("all"),
        {"tempcast.kind": "train-parent", "tempcast.as_of": context.as_of},
        None
        if force
        else batch_key("train", context.as_of, context.settings, prepared.digest, chosen),
    )
    with fan_out_runner(run) as runner:
        units = run_units(
            prepared, chosen, config, context, UnitSpec("train"), parent_run_id, runner, force
        )
    finish_units(units.table, units.failures, parent_run_id, out, "train")
    return units.table
