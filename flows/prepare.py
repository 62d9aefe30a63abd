"""The prepare flow: validate the observations, build the complete monthly table, write it."""

from pathlib import Path

from prefect import flow

from tasks.calls import Call, as_task
from tasks.data.ingest import ingest_observations, resolve_data_path
from tasks.data.prepared import prepare_data, write_prepared
from tasks.data.rules import SelectionMethod, SelectionRules
from tasks.publish.outputs import ensure_folder


def prepare_steps(
    data: str | None = None,
    out: str = "outputs",
    selection: SelectionMethod = "auto",
    rules: SelectionRules | None = None,
    call: Call = as_task,
) -> dict:
    """The prepare chain, written once: ingest, prepare and write, each step called as `call`
    says (Prefect tasks inside the flow; plain functions where no Prefect API is needed)."""
    ensure_folder(Path(out))
    ingested = call(ingest_observations, resolve_data_path(data))
    prepared = prepare_data(ingested, selection, rules, call=call)
    call(write_prepared, prepared, Path(out))
    return prepared.report


@flow(name="prepare")
def prepare_flow(
    data: str | None = None,
    out: str = "outputs",
    selection: SelectionMethod = "auto",
    rules: SelectionRules | None = None,
) -> dict:
    """Validate the observations file and write the complete monthly table with its report."""
    return prepare_steps(data, out, selection, rules)
