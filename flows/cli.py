"""The `tempcast` command line: one entry point for every flow.

Heavy libraries (Prefect, TensorFlow, MLflow) are imported inside the commands, so that
`tempcast --help` answers at once. Failures are printed as one line without a traceback: exit
status 2 for what the user can fix (a bad file, option or location), 1 for the infrastructure
(the tracking store, the Prefect API) or locations that failed.
"""

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from flows.cli_observations import ingest, observations
from flows.console import console_progress, prefect_api_configured, run_flow
from flows.options import only, run_settings_options
from tasks.errors import InfrastructureError, TempcastError
from tasks.places import FILES, Places
from tasks.quiet import DEBUG_VARIABLE, VERBOSE_VARIABLE, debugging, show_everything
from tasks.settings import RunSettings

app = typer.Typer(
    help="Forecast monthly temperatures of Australian weather stations with LSTMs, on Prefect.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
UI_HINT = (
    "Compare the runs in the MLflow UI: `make ui`, then open the URL it prints"
    " (the same store: $MLFLOW_TRACKING_URI, default sqlite:///mlflow.db)"
)
ForceOption = Annotated[
    bool, typer.Option("--force", help="Train again units already done with these settings.")
]
AsOfOption = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        help="Cut the data at the end of this month (YYYY-MM). Default: the last complete month.",
        show_default=False,
    ),
]


@app.callback()
def tempcast(
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose",
            help="Also show what is hidden by default: TensorFlow's start-up lines, MLflow's"
            f" progress bars and notes (or set ${VERBOSE_VARIABLE}; ${DEBUG_VARIABLE} adds"
            " tracebacks).",
        ),
    ] = False,
) -> None:
    """Forecast monthly temperatures of Australian weather stations with LSTMs, on Prefect."""
    if verbose:
        show_everything()  # read by tasks.quiet, here and in worker processes


def checked_settings(
    settings: RunSettings, known: Callable[[RunSettings], list[str]] | None = None
) -> RunSettings:
    """The settings with the observations file found and its start checked, before any flow;
    with `known` (the names the data allows), the `--location` names checked too, so that a
    mistake is one line before any Prefect API starts."""
    from tasks.data.ingest import check_data_file, resolve_data_path
    from tasks.data.locations import choose_locations

    path = resolve_data_path(settings.data)
    checked = settings.model_copy(update={"data": str(check_data_file(path))})
    if known is not None:
        choose_locations(known(checked), checked.locations)
    return checked


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
    names = (FILES.monthly, FILES.imputed, FILES.rejects, FILES.report, FILES.monthly_chart)
    typer.echo(f"Files in {out}/: {' '.join(names)}")


def run_steps(steps: Callable[..., Any], **parameters: object) -> Any:
    """Run a chain of steps (flows/steps.py) as plain functions, in this process, with no
    Prefect API (and without importing Prefect), with tempcast's progress lines on the
    console."""
    from tasks.calls import as_function

    console_progress()
    return steps(**parameters, call=as_function)


@app.command()
@run_settings_options(("data", "out", "selection", "rules"))
def prepare(settings: RunSettings) -> None:
    """Validate the observations and write the complete monthly table, with its report.

    Runs as a Prefect flow where a Prefect API is configured, else as plain steps (nothing is
    started)."""
    settings = checked_settings(settings)
    out = settings.places().out_folder("prepare")
    if prefect_api_configured():
        from flows.prepare import prepare_flow

        run, chain = run_flow, prepare_flow
    else:
        from flows.steps import prepare_steps

        run, chain = run_steps, prepare_steps
    report = run(
        chain,
        data=settings.data,
        out=str(out),
        selection=settings.selection,
        rules=settings.rules,
    )
    print_prepare_summary(report, out)


@app.command()
@run_settings_options()
def train(settings: RunSettings, force: ForceOption = False) -> None:
    """Fit, evaluate, track and register a model per location."""
    from flows.steps import kept_locations

    settings = checked_settings(settings, kept_locations if settings.locations else None)
    from flows.train import train_flow  # (Prefect: only once the command is checked)
    from tasks.publish.reports import format_table

    table = run_flow(train_flow, settings=settings, force=force)
    typer.echo(format_table(table))
    out = settings.places().out_folder("train")
    typer.echo(f"Metrics in {out}/{FILES.metrics}. {UI_HINT}")


@app.command()
@run_settings_options()
def retrain(settings: RunSettings, as_of: AsOfOption = None, force: ForceOption = False) -> None:
    """The monthly job: retrain, promote models that earn it, forecast the next months."""
    from flows.steps import kept_locations

    check = settings.locations or as_of
    known = functools.partial(kept_locations, as_of=as_of, cut=True) if check else None
    settings = checked_settings(settings, known)
    from flows.retrain import retrain_flow  # (Prefect: only once the command is checked)
    from tasks.publish.reports import format_table

    result = run_flow(retrain_flow, as_of=as_of, force=force, settings=settings)
    typer.echo(format_table(result.table))
    if result.as_of.stale:
        typer.echo(result.as_of.note)
    promoted = int(result.table["promoted"].fillna(False).astype(bool).sum())
    out = settings.places().out_folder("retrain")
    typer.echo(
        f"as_of {result.as_of.label}: {promoted} of {len(result.table)} locations promoted;"
        f" forecasts for {result.forecasts['location'].nunique()} locations in"
        f" {out}/{FILES.forecasts}"
    )
    for line in result.live.lines() if result.live else []:
        typer.echo(line)
    typer.echo(UI_HINT)


@app.command()
def forecasts(
    location: Annotated[str | None, only("--location", "this location (any letter case)")] = None,
    as_of: Annotated[str | None, only("--as-of", "this as_of (YYYY-MM)")] = None,
    month: Annotated[str | None, only("--month", "this target month (YYYY-MM)")] = None,
    style: Annotated[
        Literal["table", "csv", "json"], typer.Option("--format", help="How to print them.")
    ] = "table",
) -> None:
    """Print the forecast history: every forecast a retrain published, with its quantiles and
    chance of a warmer-than-median month where stored, and its actual value and errors once its
    month was scored ($TEMPCAST_FORECASTS_URI, default sqlite:///forecasts.db). Reads only
    (an older history first gains the new columns), without TensorFlow or Prefect."""
    from tasks.publish.history import forecast_history, format_history

    uri = Places.from_environment().history_uri
    typer.echo(format_history(forecast_history(uri, location, as_of, month), style))


app.command()(ingest)
app.command()(observations)


@app.command()
@run_settings_options()
def backfill(
    settings: RunSettings,
    start: Annotated[str, typer.Option("--from", help="First as_of month, YYYY-MM.")],
    end: Annotated[str, typer.Option("--to", help="Last as_of month, YYYY-MM (inclusive).")],
    force: ForceOption = False,
) -> None:
    """Re-run the pipeline as of every month of a range and backtest it (never production)."""
    from flows.steps import observed_locations
    from tasks.data.months import expand_range

    expand_range(start, end)  # a range in the wrong order: one line, before anything starts
    settings = checked_settings(settings, observed_locations if settings.locations else None)
    from flows.backfill import backfill_flow  # (Prefect: only once the command is checked)
    from tasks.publish.reports import format_summary

    result = run_flow(backfill_flow, start=start, end=end, force=force, settings=settings)
    typer.echo(format_summary(result.summaries["by_step"]))
    out = settings.places().out_folder("backfill")
    typer.echo(
        f"{result.trained} units trained, {result.reused} reused; backtest rows in"
        f" {out}/{FILES.backtest}, summaries by step and location beside it. {UI_HINT}"
    )


@app.command("fetch-data")
def fetch_data(
    to: Annotated[
        Path | None,
        typer.Option(
            "--to",
            help="Where to save it (a folder: weatherAUS.csv in it). Default: data/weatherAUS.csv.",
            show_default=False,
        ),
    ] = None,
    url: Annotated[
        str | None,
        typer.Option(
            "--url",
            help="Your own copy (with --sha256). Default: $TEMPCAST_DATA_URL, else public copies.",
            show_default=False,
        ),
    ] = None,
    sha256: Annotated[
        str | None,
        typer.Option("--sha256", help="The SHA-256 your copy must have.", show_default=False),
    ] = None,
    if_missing: Annotated[
        bool,
        typer.Option(
            "--if-missing",
            help="Only when no file is found where the other commands look ($TEMPCAST_DATA,"
            " data/weatherAUS.csv, ../shared/data/weatherAUS.csv.gz): print the one found, else"
            " fetch into data/weatherAUS.csv, as they would (`make data`).",
        ),
    ] = False,
) -> None:
    """Download the observations (Kaggle's weatherAUS.csv) and check their SHA-256; print where
    the file is.

    From --url, else $TEMPCAST_DATA_URL, else the public copies of Kaggle's "Rain in Australia"
    file; a file that does not match its SHA-256 is never kept."""
    from tasks.data.fetch import FETCH_TARGET, data_sources
    from tasks.data.fetch import fetch_data as fetch

    sources = data_sources(url, sha256)
    if if_missing:
        if to is not None:
            raise TempcastError("--if-missing fetches into data/weatherAUS.csv: drop --to")
        typer.echo(data_file_or_fetched(sources))
        return
    target = to or FETCH_TARGET
    if target.is_dir():
        target = target / FETCH_TARGET.name
    typer.echo(fetch(target, sources))


def data_file_or_fetched(sources: list) -> Path:
    """The observations file where every command looks for it, checked to be usable; fetched
    from `sources` into data/weatherAUS.csv when there is none (what `retrain` would do)."""
    from tasks.data.ingest import check_data_file, resolve_data_path

    return check_data_file(resolve_data_path(sources=sources))


@app.command()
def serve() -> None:
    """Serve the deployments from this process: the monthly retrain (cron 0 3 2 * *,
    Australia/Sydney), backfill and train, run here when scheduled or triggered (`prefect
    deployment run retrain/retrain`), until Ctrl-C. Needs a Prefect server: PREFECT_API_URL."""
    from flows.deployments import serve_deployments

    serve_deployments()


def failed(message: str, status: int) -> SystemExit:
    """Print one error line and make the exit with `status`."""
    typer.echo(f"tempcast: error: {message}", err=True)
    return SystemExit(status)


def main(app_: Callable[[], object] = app) -> None:
    """Console entry point. A TempcastError (the user's to fix) is one line and exit status 2;
    an InfrastructureError one line and status 1; anything else one line naming its type and
    status 1, with the traceback only when $TEMPCAST_DEBUG is set."""
    try:
        app_()
    except TempcastError as error:
        raise failed(str(error), 2) from None
    except InfrastructureError as error:
        raise failed(str(error), 1) from None
    except Exception as error:
        if debugging():
            raise
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
        raise failed(
            f"{type(error).__name__}: {first_line} (set {DEBUG_VARIABLE}=1 for the traceback)", 1
        ) from None
