"""The prepare flow: ingest and validate, monthly table, selection, imputation, files."""

from pathlib import Path

import pandas as pd
from prefect import flow

from tasks.config import SelectionMethod
from tasks.impute import impute
from tasks.ingest import IngestResult, ingest, resolve_data_path
from tasks.monthly import monthly
from tasks.outputs import ensure_folder
from tasks.prepared import Prepared, assemble, write_prepared_outputs
from tasks.selection import select


def prepare_table(
    ingested: IngestResult, selection: SelectionMethod, as_of: pd.Period | None = None
) -> Prepared:
    """The data steps after ingest, cut at `as_of`: shared by every flow that trains."""
    data_end = ingested.last_date
    if as_of is not None and data_end is not None:
        data_end = min(data_end, as_of.end_time.normalize())
    table = monthly(ingested.accepted, as_of)
    selected = select(table, selection, data_end)
    imputed = impute(selected.table)
    return assemble(ingested, selected, imputed, as_of, selection)


@flow(name="prepare")
def prepare_flow(
    data: str | None = None, out: str = "outputs", selection: SelectionMethod = "auto"
) -> dict:
    """Validate the observations file and write the complete monthly table with its report."""
    ensure_folder(Path(out))
    ingested = ingest(resolve_data_path(Path(data) if data else None))
    prepared = prepare_table(ingested, selection)
    write_prepared_outputs(prepared, Path(out))
    return prepared.report
