"""The `tempcast` command line: one entry point for every flow.

Heavy libraries (Prefect, TensorFlow, MLflow) are imported inside the commands, so that
`tempcast --help` answers at once. Errors a user can cause are printed as one line, without a
traceback, and the process exits with status 2.
"""

import functools
import importlib
import inspect
import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Literal

import typer

from tasks.config import TrainingOverrides
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
    Literal["auto", "article"],
    typer.Option("--selection", help="auto: derived from the data; article: the recipe's choice."),
]
RecipeOption = Annotated[
    Literal["default", "article"],
    typer.Option(
        "--recipe", help="default: this project's fast recipe; article: the tutorial, exactly."
    ),
]
LocationOption = Annotated[
    list[str] | None,
    typer.Option(
        "--location",
        help="A location to train (repeat for several). Default: all.",
        show_default=False,
    ),
]
ConcurrencyOption = Annotated[
    int,
    typer.Option(
        "--concurrency", min=1, help="Units run at the same time (locations; backfill: months)."
    ),
]
RunnerOption = Annotated[
    Literal["thread", "dask"],
    typer.Option(
        "--task-runner",
        help="Where the per-location (backfill: per-month) work runs: threads here, or Dask.",
    ),
]
DaskOption = Annotated[
    str | None,
    typer.Option(
        "--dask-address",
        help="Scheduler of an existing Dask cluster (default $TEMPCAST_DASK_ADDRESS, else a"
        " local cluster of --concurrency workers).",
        show_default=False,
    ),
]
AllOption = Annotated[
    bool, typer.Option("--all", help="Every location the data keeps (the default).")
]

TRAINING_HELP = {
    "epochs": "Training epochs (the most, with early stopping).",
    "units": "LSTM units per direction.",
    "timestep": "Months in each input window.",
    "horizon": "Months forecast.",
    "seed": "Seed of every random source.",
    "learning_rate": "Adam learning rate.",
    "batch_size": "Windows per training step.",
    "scaling": "none (the recipe) or standard (per location, training months only).",
    "patience": "Early-stopping patience in epochs.",
    "ensemble": "Networks averaged per model.",
    "strategy": "global: one network for all locations; per_location: one each.",
}


def training_options(command: Callable) -> Callable:
    """Give a command every TrainingOverrides field as an option (--epochs, --units, ...).

    The command receives them as one `training: TrainingOverrides` argument, so train, retrain
    and backfill share one definition of the training options.
    """
    fields = TrainingOverrides.model_fields
    extra = [
        inspect.Parameter(
            name,
            inspect.Parameter.KEYWORD_ONLY,
            default=None,
            annotation=Annotated[
                field.annotation,
                typer.Option(
                    f"--{name.replace('_', '-')}", help=TRAINING_HELP[name], show_default=False
                ),
            ],
        )
        for name, field in fields.items()
    ]
    signature = inspect.signature(command)
    kept = [p for p in signature.parameters.values() if p.name != "training"]

    @functools.wraps(command)
    def with_training(**kwargs: object) -> object:
        overrides = TrainingOverrides(**{name: kwargs.pop(name) for name in fields})
        return command(training=overrides, **kwargs)

    with_training.__signature__ = signature.replace(parameters=kept + extra)  # type: ignore[attr-defined]
    return with_training


class ExpectedErrorFilter(logging.Filter):
    """Log expected (user-caused) errors in one line: drop their tracebacks from log records."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], TempcastError):
            record.exc_info = None
            record.exc_text = None
        return True


def quiet_expected_errors() -> None:
    """Attach ExpectedErrorFilter to every handler Prefect has configured, and keep MLflow's
    per-model INFO lines (registered model, created version) out of the console."""
    import prefect.logging  # noqa: F401  (configures Prefect's handlers)

    logging.getLogger("mlflow").setLevel(logging.WARNING)
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
    selection: SelectionOption = "auto",
) -> None:
    """Validate the observations and write the complete monthly table, with its report."""
    path = checked_data_path(data)
    quiet_expected_errors()
    from flows.prepare import prepare_flow

    report = prepare_flow(data=str(path), out=str(out), selection=selection)
    print_prepare_summary(report, out)


UI_HINT = (
    "Compare the runs in the MLflow UI: `make ui`, then open http://127.0.0.1:5000"
    " (the same store: $MLFLOW_TRACKING_URI, default sqlite:///mlflow.db)"
)


def run_and_print(run: Callable[[], object]) -> object:
    """Run a training flow; when some locations failed, print the table of those that
    finished before the one-line error that names the others."""
    from flows.train import LocationsFailed

    try:
        return run()
    except LocationsFailed as failed:
        if failed.finished:
            typer.echo(failed.finished)
        raise


def run_training_flow(
    module: str,
    location: list[str] | None,
    all_locations: bool,
    data: Path | None,
    **parameters: object,
) -> object:
    """What train, retrain and backfill share: check the options and the data file, quiet
    expected errors, import the flow (and TensorFlow) only now, run it, print partial results."""
    if location and all_locations:
        raise TempcastError("use either --location or --all, not both")
    path = checked_data_path(data)
    quiet_expected_errors()
    flow = getattr(importlib.import_module(f"flows.{module}"), f"{module}_flow")
    return run_and_print(lambda: flow(locations=location or None, data=str(path), **parameters))


@app.command()
@training_options
def train(
    location: LocationOption = None,
    all_locations: AllOption = False,
    recipe: RecipeOption = "default",
    selection: SelectionOption = "auto",
    task_runner: RunnerOption = "thread",
    concurrency: ConcurrencyOption = 4,
    dask_address: DaskOption = None,
    data: DataOption = None,
    out: OutOption = Path("outputs"),
    training: TrainingOverrides | None = None,
) -> None:
    """Train, evaluate, track and register a model per location."""
    from tasks.reporting import format_table

    table = run_training_flow(
        "train",
        location,
        all_locations,
        data,
        recipe=recipe,
        selection=selection,
        training=training,
        task_runner=task_runner,
        concurrency=concurrency,
        dask_address=dask_address,
        out=str(out),
    )
    typer.echo(format_table(table))
    typer.echo(f"Metrics in {out}/metrics.csv. {UI_HINT}")


AsOfOption = Annotated[
    str | None,
    typer.Option(
        "--as-of",
        help="Cut the data at the end of this month (YYYY-MM). Default: the last complete month.",
        show_default=False,
    ),
]


@app.command()
@training_options
def retrain(
    as_of: AsOfOption = None,
    location: LocationOption = None,
    all_locations: AllOption = False,
    recipe: RecipeOption = "default",
    selection: SelectionOption = "auto",
    force: Annotated[
        bool, typer.Option("--force", help="Retrain locations already retrained for this as_of.")
    ] = False,
    task_runner: RunnerOption = "thread",
    concurrency: ConcurrencyOption = 4,
    dask_address: DaskOption = None,
    data: DataOption = None,
    out: OutOption = Path("outputs"),
    training: TrainingOverrides | None = None,
) -> None:
    """The monthly job: retrain, promote better models, forecast the next months."""
    from tasks.reporting import format_table

    result = run_training_flow(
        "retrain",
        location,
        all_locations,
        data,
        as_of=as_of,
        recipe=recipe,
        selection=selection,
        training=training,
        force=force,
        task_runner=task_runner,
        concurrency=concurrency,
        dask_address=dask_address,
        out=str(out),
    )
    typer.echo(format_table(result.table))
    if result.as_of.stale:
        typer.echo(result.as_of.note)
    promoted = int(result.table["promoted"].fillna(False).astype(bool).sum())
    typer.echo(
        f"as_of {result.as_of.label}: {promoted} of {len(result.table)} locations promoted;"
        f" forecasts for {result.forecasts['location'].nunique()} locations in {out}/forecasts.csv"
    )
    typer.echo(UI_HINT)


@app.command()
@training_options
def backfill(
    start: Annotated[str, typer.Option("--from", help="First as_of month, YYYY-MM.")],
    end: Annotated[str, typer.Option("--to", help="Last as_of month, YYYY-MM (inclusive).")],
    location: LocationOption = None,
    all_locations: AllOption = False,
    recipe: RecipeOption = "default",
    selection: SelectionOption = "auto",
    force: Annotated[
        bool, typer.Option("--force", help="Retrain units that already have a finished run.")
    ] = False,
    concurrency: ConcurrencyOption = 2,
    task_runner: RunnerOption = "thread",
    dask_address: DaskOption = None,
    data: DataOption = None,
    out: OutOption = Path("outputs/backfill"),
    training: TrainingOverrides | None = None,
) -> None:
    """Re-run the pipeline as of every month of a range and backtest it (never production)."""
    from tasks.reporting import format_summary

    result = run_training_flow(
        "backfill",
        location,
        all_locations,
        data,
        start=start,
        end=end,
        recipe=recipe,
        selection=selection,
        training=training,
        force=force,
        concurrency=concurrency,
        task_runner=task_runner,
        dask_address=dask_address,
        out=str(out),
    )
    typer.echo(format_summary(result.summaries["by_step"]))
    typer.echo(
        f"{result.trained} units trained, {result.reused} reused; backtest rows in"
        f" {out}/backtest.csv, summaries by step and location beside it. {UI_HINT}"
    )


@app.command()
def serve() -> None:
    """Serve the deployments from this process: the monthly retrain (cron 0 3 2 * *,
    Australia/Sydney), backfill and train, run here when scheduled or triggered (`prefect
    deployment run retrain/retrain`), until Ctrl-C. Needs a Prefect server: PREFECT_API_URL."""
    from flows.deployments import serve_deployments

    serve_deployments()


DEBUG_VARIABLE = "TEMPCAST_DEBUG"


def main() -> None:
    """Console entry point: run the app. A TempcastError (the user's to fix) is one line and exit
    status 2; any other failure is one line naming its type and exit status 1, with the
    traceback only when $TEMPCAST_DEBUG is set (the Prefect run log keeps the details)."""
    try:
        app()
    except TempcastError as error:
        typer.echo(f"tempcast: error: {error}", err=True)
        raise SystemExit(2) from None
    except Exception as error:
        if os.environ.get(DEBUG_VARIABLE):
            raise
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
        typer.echo(
            f"tempcast: failed: {type(error).__name__}: {first_line}"
            f" (set {DEBUG_VARIABLE}=1 for the traceback)",
            err=True,
        )
        raise SystemExit(1) from None
