"""The `tempcast` command line: one entry point for every flow.

Heavy libraries (Prefect, TensorFlow, MLflow) are imported inside the commands, so that
`tempcast --help` answers at once. Errors a user can cause are printed as one line, without a
traceback, and the process exits with status 2.
"""

import logging
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from tasks.errors import TempcastError

app = typer.Typer(
    help="Forecast monthly temperatures of Australian weather stations with LSTMs, on Prefect.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def tempcast() -> None:
    """Forecast monthly temperatures of Australian weather stations with LSTMs, on Prefect."""


class SelectionChoice(StrEnum):
    """How locations and months are chosen."""

    auto = "auto"
    article = "article"


DataOption = Annotated[
    Path | None,
    typer.Option(
        "--data",
        help="Observations CSV (plain or gzip). Default: $TEMPCAST_DATA, data/weatherAUS.csv,"
        " ../shared/data/weatherAUS.csv.gz.",
        show_default=False,
    ),
]
OutOption = Annotated[Path, typer.Option("--out", help="Folder for the result files.")]
SelectionOption = Annotated[
    SelectionChoice,
    typer.Option("--selection", help="auto: derived from the data; article: the recipe's choice."),
]


class ExpectedErrorFilter(logging.Filter):
    """Log expected (user-caused) errors in one line: drop their tracebacks from log records."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], TempcastError):
            record.exc_info = None
            record.exc_text = None
        return True


def quiet_expected_errors() -> None:
    """Attach ExpectedErrorFilter to every handler Prefect has configured."""
    import prefect.logging  # noqa: F401  (configures Prefect's handlers)

    loggers = [
        logging.getLogger(),
        *(logging.getLogger(n) for n in logging.root.manager.loggerDict),
    ]
    for logger in loggers:
        for handler in getattr(logger, "handlers", []):
            if not any(isinstance(f, ExpectedErrorFilter) for f in handler.filters):
                handler.addFilter(ExpectedErrorFilter())


def checked_data_path(data: Path | None) -> Path:
    """Resolve the observations file and check its start, before any flow begins."""
    from tasks.ingest import check_data_file, resolve_data_path

    return check_data_file(resolve_data_path(data))


def print_prepare_summary(report: dict, out: Path) -> None:
    """A short summary of a prepare run: rows, rejects by reason, what was kept, where files are."""
    typer.echo(
        f"Read {report['rows_read']:,} rows: {report['rows_accepted']:,} accepted,"
        f" {report['rows_rejected']:,} rejected, {report['rows_missing_temperature']:,} missing"
        " a temperature"
    )
    reasons = report["rejects_by_reason"]
    typer.echo(
        "Rejected by reason: "
        + (", ".join(f"{reason} {count:,}" for reason, count in reasons.items()) or "none")
    )
    typer.echo(
        f"Kept {report['locations_kept']} locations x {report['months_kept']} months"
        f" ({report['months']}); dropped {len(report['locations_dropped'])} locations and"
        f" {len(report['months_dropped'])} months (reasons in report.json);"
        f" imputed {report['imputed_cells']} cells"
    )
    typer.echo(f"Files in {out}/: monthly.csv imputed.csv rejects.csv report.json monthly.html")


@app.command()
def prepare(
    data: DataOption = None,
    out: OutOption = Path("outputs"),
    selection: SelectionOption = SelectionChoice.auto,
) -> None:
    """Validate the observations and write the complete monthly table, with its report."""
    path = checked_data_path(data)
    quiet_expected_errors()
    from flows.prepare import prepare_flow

    report = prepare_flow(data=str(path), out=str(out), selection=selection.value)
    print_prepare_summary(report, out)


def main() -> None:
    """Console entry point: run the app, turning TempcastError into one line and exit status 2."""
    try:
        app()
    except TempcastError as error:
        typer.echo(f"tempcast: error: {error}", err=True)
        raise SystemExit(2) from None
