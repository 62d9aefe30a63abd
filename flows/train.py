"""The train flow: prepare the data, then fit, evaluate, track and register every location."""

import pandas as pd
from prefect import flow

from flows.batches import start_units
from tasks.data.ingest import ingest_observations, resolve_data_path
from tasks.data.prepared import prepare_data
from tasks.pipeline.units import UnitSpec, finish_units
from tasks.publish.outputs import ensure_folder
from tasks.settings import RunSettings


@flow(name="train")
def train_flow(settings: RunSettings | None = None, force: bool = False) -> pd.DataFrame:
    """Fit, evaluate and register a model per location (all locations when none are named);
    units already trained with the same settings and data are reused unless `force`."""
    run = settings or RunSettings()
    places = run.places()
    out = ensure_folder(places.out_folder("train"))
    ingested = ingest_observations(resolve_data_path(places.data))
    prepared = prepare_data(ingested, run.selection, run.rules)
    started = start_units("train", run, places, prepared, force)
    units = started.run_units(UnitSpec("train"), force)
    finish_units(units.table, units.failures, started.parent_run_id, out, "train")
    return units.table
