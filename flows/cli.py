"""The `tempcast` command line: one entry point for every flow.

Heavy libraries (Prefect, TensorFlow, MLflow) are imported inside the commands, so that
`tempcast --help` answers at once. Failures are printed as one line without a traceback: exit
status 2 for what the user can fix (a bad file, option or location), 1 for the infrastructure
(the tracking store, the Prefect API) or locations that failed.
"""

import functools
import importlib
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal

import typer

from flows.options import run_settings_options
from tasks.errors import InfrastructureError, TempcastError
from tasks.settings import RunSettings

app = typer.Typer(
    help="Forecast monthly temperatures of Australian weather stations with LSTMs, on Prefect.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
DEBUG_VARIABLE, VERBOSE_VARIABLE = "TEMPCAST_DEBUG", "TEMPCAST_VERBOSE"
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
        os.environ[VERBOSE_VARIABLE] = "1"  # read by tasks.quiet, here and in worker processes


class ExpectedErrorFilter(logging.Filter):
    """Log expected errors in one line: drop their tracebacks from log records."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], TempcastError | InfrastructureError):
            record.exc_info = None
            record.exc_text = None
        return True


def quiet_expected_errors() -> None:
    """Attach ExpectedErrorFilter to every handler Prefect has configured; unless --verbose,
    keep MLflow's INFO lines out of the console (tasks.tracking.store.quiet_mlflow hides its
    progress bars)."""
    import prefect.logging  # noqa: F401  (configures Prefect's handlers)

    from tasks.quiet import verbose

    if not verbose():
        logging.getLogger("mlflow").setLevel(logging.WARNING)
    loggers = [
        logging.getLogger(),
        *(logging.getLogger(n) for n in logging.root.manager.loggerDict),
    ]
    for logger in loggers:
        for handler in getattr(logger, "handlers", []):
            if not any(isinstance(f, ExpectedErrorFilter) for f in handler.filters):
                handler.addFilter(ExpectedErrorFilter())


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


def run_flow(module: str, **parameters: object) -> object:
    """Quiet expected errors, import the flow (and TensorFlow) only now, and run it; when some
    locations failed, print the results of those that finished before the one-line error."""
    from tasks.pipeline.failures import LocationsFailed

    quiet_expected_errors()
    flow = getattr(importlib.import_module(f"flows.{module}"), f"{module}_flow")
    try:
        return flow(**parameters)
    except LocationsFailed as failed:
        if failed.finished:
            typer.echo(failed.finished)
        raise


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


def prefect_settings_files() -> list[Path]:
    """The files from which Prefect could read an API URL besides the environment: the profiles
    file, and prefect.toml, .env or pyproject.toml's [tool.prefect] in the working folder."""
    home = Path(os.environ.get("PREFECT_HOME") or "~/.prefect").expanduser()
    profiles = Path(os.environ.get("PREFECT_PROFILES_PATH") or home / "profiles.toml")
    candidates = {profiles: "", Path("prefect.toml"): "", Path(".env"): "PREFECT_"}
    candidates[Path("pyproject.toml")] = "[tool.prefect"
    return [
        path
        for path, marker in candidates.items()
        if path.is_file() and marker in path.read_text(errors="replace")
    ]


def prefect_api_configured() -> bool:
    """Whether a Prefect API is configured (PREFECT_API_URL, in the environment or the active
    profile); without one, a flow first starts a temporary Prefect server. Prefect itself (two to
    three seconds to import) is asked only where one of its settings files exists."""
    if os.environ.get("PREFECT_API_URL"):
        return True
    if not prefect_settings_files() and not os.environ.get("PREFECT_PROFILE"):
        return False
    from prefect.settings import get_current_settings

    return bool(get_current_settings().api.url)


def console_progress() -> None:
    """Show tempcast's progress lines (INFO and above) on the console, in Prefect's format,
    where no Prefect handler does (steps run as plain functions, Prefect never imported)."""
    logger = logging.getLogger("tempcast")
    logger.setLevel(logging.INFO)
    if "prefect" in sys.modules or logger.handlers:
        return
    handler = logging.StreamHandler()
    line = "%(asctime)s.%(msecs)03d | %(levelname)-7s | %(name)s - %(message)s"
    handler.setFormatter(logging.Formatter(line, "%H:%M:%S"))
    handler.addFilter(ExpectedErrorFilter())
    logger.addHandler(handler)


def run_steps(module: str, **parameters: object) -> object:
    """Run a chain of steps (flows/steps.py: `<module>_steps`) as plain functions, in this
    process, with no Prefect API (and without importing Prefect), with tempcast's progress lines
    on the console."""
    from flows import steps
    from tasks.calls import as_function

    console_progress()
    return getattr(steps, f"{module}_steps")(**parameters, call=as_function)


@app.command()
@run_settings_options(("data", "out", "selection", "rules"))
def prepare(settings: RunSettings) -> None:
    """Validate the observations and write the complete monthly table, with its report.

    Runs as a Prefect flow where a Prefect API is configured, else as plain steps (nothing is
    started)."""
    settings = checked_settings(settings)
    out = Path(settings.out or "outputs")
    run = run_flow if prefect_api_configured() else run_steps
    report = run(
        "prepare",
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
    from tasks.publish.reports import format_table  # (Prefect: only once the command is checked)

    table = run_flow("train", settings=settings, force=force)
    typer.echo(format_table(table))
    typer.echo(f"Metrics in {settings.out or 'outputs'}/metrics.csv. {UI_HINT}")


@app.command()
@run_settings_options()
def retrain(settings: RunSettings, as_of: AsOfOption = None, force: ForceOption = False) -> None:
    """The monthly job: retrain, promote models that earn it, forecast the next months."""
    from flows.steps import kept_locations

    check = settings.locations or as_of
    known = functools.partial(kept_locations, as_of=as_of, cut=True) if check else None
    settings = checked_settings(settings, known)
    from tasks.publish.reports import format_table  # (Prefect: only once the command is checked)

    result = run_flow("retrain", as_of=as_of, force=force, settings=settings)
    typer.echo(format_table(result.table))
    if result.as_of.stale:
        typer.echo(result.as_of.note)
    promoted = int(result.table["promoted"].fillna(False).astype(bool).sum())
    out = settings.out or "outputs"
    typer.echo(
        f"as_of {result.as_of.label}: {promoted} of {len(result.table)} locations promoted;"
        f" forecasts for {result.forecasts['location'].nunique()} locations in {out}/forecasts.csv"
    )
    for line in result.live.lines() if result.live else []:
        typer.echo(line)
    typer.echo(UI_HINT)


def only(flag: str, what: str, rows: str = "forecasts") -> Any:
    """A filter option of `tempcast forecasts` (or `observations`): only the rows of `what`."""
    return typer.Option(flag, help=f"Only the {rows} of {what}.", show_default=False)


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
    from tasks.publish.history import forecast_history, format_history, history_uri

    typer.echo(format_history(forecast_history(history_uri(), location, as_of, month), style))


@app.command()
def ingest(
    files: Annotated[
        list[Path],
        typer.Argument(
            help="Kaggle-layout or Bureau per-station monthly CSV files.", show_default=False
        ),
    ],
    location: Annotated[
        str | None,
        typer.Option(
            "--location",
            help="The station of Bureau files. Default: the title's station name without spaces.",
            show_default=False,
        ),
    ] = None,
    complete_share: Annotated[
        float,
        typer.Option(
            "--complete-share",
            help="A month is complete when this share of the locations that reported the month"
            " before have its last day (then the month-complete event starts the retrain).",
        ),
    ] = 1.0,
) -> None:
    """Validate new observations and add them to the observation store
    ($TEMPCAST_OBSERVATIONS_URI, default sqlite:///observations.db), one transaction per file:
    print what was added, kept aside (with reasons) and corrected, and what the corrections
    touch. A file ingested before adds nothing. Runs as the Prefect flow `ingest`."""
    from tasks.data.intake import check_observation_file
    from tasks.data.store import shown, store_uri

    shown(store_uri())  # a malformed URL: one line, before Prefect starts
    if not 0 < complete_share <= 1:
        raise TempcastError(f"--complete-share {complete_share} is not in (0, 1]")
    for path in files:
        check_observation_file(path, location)
    paths = [str(path) for path in files]
    report = run_flow("ingest", files=paths, location=location, complete_share=complete_share)
    typer.echo("\n".join(report.lines()))


@app.command()
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
    from tasks.data.store import store_uri

    typer.echo(format_coverage(store_coverage(store_uri(), location, month)))


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
    from tasks.backtest.scoring import expand_range

    expand_range(start, end)  # a range in the wrong order: one line, before anything starts
    settings = checked_settings(settings, observed_locations if settings.locations else None)
    from tasks.publish.reports import format_summary  # (Prefect: only once the command is checked)

    result = run_flow("backfill", start=start, end=end, force=force, settings=settings)
    typer.echo(format_summary(result.summaries["by_step"]))
    out = settings.out or "outputs/backfill"
    typer.echo(
        f"{result.trained} units trained, {result.reused} reused; backtest rows in"
        f" {out}/backtest.csv, summaries by step and location beside it. {UI_HINT}"
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
        if os.environ.get(DEBUG_VARIABLE):
            raise
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
        raise failed(
            f"{type(error).__name__}: {first_line} (set {DEBUG_VARIABLE}=1 for the traceback)", 1
        ) from None
