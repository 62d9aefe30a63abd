"""The prepare flow: validate the observations, build the complete monthly table, write it."""

from prefect import flow

from flows.steps import prepare_steps
from tasks.data.rules import SelectionMethod, SelectionRules


@flow(name="prepare")
def prepare_flow(
    data: str | None = None,
    out: str | None = None,
    selection: SelectionMethod = "auto",
    rules: SelectionRules | None = None,
) -> dict:
    """Validate the observations file and write the complete monthly table with its report
    (into `out`, default outputs/)."""
    return prepare_steps(data, out, selection, rules)
