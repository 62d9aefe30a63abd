"""Chains of steps written once, run as Prefect tasks by a flow or as plain functions by the CLI
where no Prefect API is needed: this module imports no Prefect."""

from tasks.calls import Call, as_function, as_task
from tasks.data.asof import resolve_as_of
from tasks.data.ingest import ingest_observations, resolve_data_path
from tasks.data.prepared import prepare_data
from tasks.data.rules import SelectionMethod, SelectionRules
from tasks.places import Places
from tasks.publish.outputs import ensure_folder
from tasks.publish.prepared import write_prepared
from tasks.settings import RunSettings


def prepare_steps(
    data: str | None = None,
    out: str | None = None,
    selection: SelectionMethod = "auto",
    rules: SelectionRules | None = None,
    call: Call = as_task,
) -> dict:
    """The prepare chain: ingest, prepare and write, each step called as `call` says (Prefect
    tasks inside the flow; plain functions where no Prefect API is needed)."""
    places = Places.from_environment(data, out)
    folder = ensure_folder(places.out_folder("prepare"))
    ingested = call(ingest_observations, resolve_data_path(places.data))
    prepared = prepare_data(ingested, selection, rules, call=call)
    call(write_prepared, prepared, folder)
    return prepared.report


def kept_locations(settings: RunSettings, as_of: str | None = None, cut: bool = False) -> list[str]:
    """The locations a train (or, with `cut`, a retrain as of `as_of`: default the last complete
    month) would keep, from the data steps run as plain functions: what `--location` may name,
    known before any flow starts. A bad `as_of` is an error here too."""
    ingested = ingest_observations.fn(resolve_data_path(settings.data))
    month = resolve_as_of(as_of, ingested.last_date).month if cut else None
    prepared = prepare_data(ingested, settings.selection, settings.rules, month, as_function)
    return prepared.locations


def observed_locations(settings: RunSettings) -> list[str]:
    """Every location with an accepted observation in the data: what a backfill's `--location`
    may name (which ones each as_of keeps, the backfill says month by month)."""
    ingested = ingest_observations.fn(resolve_data_path(settings.data))
    return sorted(ingested.accepted["Location"].unique())
