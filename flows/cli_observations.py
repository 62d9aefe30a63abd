"""The observation store's commands of the `tempcast` CLI (registered on its app by flows/cli.py):
`ingest` (new observation files into the store, as the Prefect flow `ingest`) and
`observations` (what the store holds per location and month).

As in flows/cli.py, the heavy libraries are imported inside the commands, and a mistake (a
missing or malformed file, a bad URL or share) is one line, exit status 2, before Prefect
starts."""

from pathlib import Path
from typing import Annotated

import typer

from flows.console import run_flow
from flows.options import only
from tasks.errors import TempcastError
from tasks.places import Places

FilesArgument = Annotated[
    list[Path],
    typer.Argument(
        help="Kaggle-layout or Bureau per-station monthly CSV files.", show_default=False
    ),
]
StationOption = Annotated[
    str | None,
    typer.Option(
        "--location",
        help="The station of Bureau files. Default: the title's station name without spaces.",
        show_default=False,
    ),
]
ShareOption = Annotated[
    float,
    typer.Option(
        "--complete-share",
        help="A month is complete when this share of the locations that reported the month"
        " before have its last day (then the month-complete event starts the retrain).",
    ),
]


def ingest(files: FilesArgument, location: StationOption = None, complete_share: ShareOption = 1.0):
    """Validate new observations and add them to the observation store
    ($TEMPCAST_OBSERVATIONS_URI, default sqlite:///observations.db), one transaction per file:
    print what was added, kept aside (with reasons) and corrected, and what the corrections
    touch. A file ingested before adds nothing. Runs as the Prefect flow `ingest`."""
    from tasks.data.intake import check_observation_file
    from tasks.data.store_tables import shown

    store = Places.from_environment().observations_uri
    shown(store)  # a malformed URL: one line, before Prefect starts
    if not 0 < complete_share <= 1:
        raise TempcastError(f"--complete-share {complete_share} is not in (0, 1]")
    for path in files:
        check_observation_file(path, location)
    from flows.ingest import ingest_flow  # (Prefect: only once the command is checked)

    paths = [str(path) for path in files]
    report = run_flow(
        ingest_flow, files=paths, location=location, complete_share=complete_share, store=store
    )
    typer.echo("\n".join(report.lines()))


def observations(
    location: Annotated[
        str | None, only("--location", "this location (any letter case)", "observations")
    ] = None,
    month: Annotated[str | None, only("--month", "this month (YYYY-MM)", "observations")] = None,
) -> None:
    """Print what the observation store holds per location and month: days observed with both
    temperatures (of the month's days), days without one, the last day, and the first and last
    ingest ($TEMPCAST_OBSERVATIONS_URI, default sqlite:///observations.db)."""
    from tasks.data.coverage import format_coverage, store_coverage

    store = Places.from_environment().observations_uri
    typer.echo(format_coverage(store_coverage(store, location, month)))
