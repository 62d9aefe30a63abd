"""The prepare flow: validate the observations, build the complete monthly table, write it."""

from pathlib import Path

from prefect import flow

from tasks.data.ingest import ingest_observations, resolve_data_path
from tasks.data.prepared import prepare_data, write_prepared
from tasks.data.rules import SelectionMethod, SelectionRules
from tasks.publish.outputs import ensure_folder


@flow(name="prepare")
def prepare_flow(
    data: str | None = None,
    out: str = "outputs",
    selection: SelectionMethod = "auto",
    rules: SelectionRules | None = None,
) -> dict:
    """Validate the observations file and write the complete monthly table with its report."""
    ensure_folder(Path(out))
    ingested = ingest_observations(resolve_data_path(Path(data) if data else None))
    prepared = prepare_data(ingested, selection, rules)
    write_prepared(prepared, Path(out))
    return prepared.report
