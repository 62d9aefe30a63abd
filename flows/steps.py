"""Chains of steps written once, run as Prefect tasks by a flow or as plain functions by the CLI
where no Prefect API is needed: this module imports no Prefect."""

from pathlib import Path

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
    """The prepare chain: ingest, prepare and write, each step called as `call` says (Prefect
    tasks inside the flow; plain functions where no Prefect API is needed)."""
    ensure_folder(Path(out))
    ingested = call(ingest_observations, resolve_data_path(data))
    prepared = prepare_data(ingested, selection, rules, call=call)
    call(write_prepared, prepared, Path(out))
    return prepared.report
