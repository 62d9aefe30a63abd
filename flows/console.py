"""What the CLI sets up around a command: expected errors in one line (and a flow run with them),
tempcast's progress lines on the console, and whether a Prefect API is configured (asked without
importing Prefect where no settings file could name one)."""

import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer

from tasks.errors import InfrastructureError, TempcastError
from tasks.places import prefect_environment


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


def run_flow(flow: Callable[..., Any], **parameters: object) -> Any:
    """Quiet expected errors and run the flow (its module, and TensorFlow, imported by the
    command only once its options are checked); when some locations failed, print the results
    of those that finished before the one-line error."""
    from tasks.pipeline.failures import LocationsFailed

    quiet_expected_errors()
    try:
        return flow(**parameters)
    except LocationsFailed as failed:
        if failed.finished:
            typer.echo(failed.finished)
        raise


def prefect_settings_files() -> list[Path]:
    """The files from which Prefect could read an API URL besides the environment: the profiles
    file, and prefect.toml, .env or pyproject.toml's [tool.prefect] in the working folder."""
    env = prefect_environment()
    home = Path(env["PREFECT_HOME"] or "~/.prefect").expanduser()
    profiles = Path(env["PREFECT_PROFILES_PATH"] or home / "profiles.toml")
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
    env = prefect_environment()
    if env["PREFECT_API_URL"]:
        return True
    if not prefect_settings_files() and not env["PREFECT_PROFILE"]:
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
