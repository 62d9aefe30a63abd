"""The log of the current Prefect run, or the `tempcast` logger outside of one."""

import logging

from prefect import get_run_logger
from prefect.exceptions import MissingContextError


def run_logger() -> logging.Logger | logging.LoggerAdapter:
    """Prefect's run logger inside a flow or task run (so lines reach the run's log in the UI);
    the standard `tempcast` logger when a task's function is called directly (`task.fn`)."""
    try:
        return get_run_logger()
    except MissingContextError:
        return logging.getLogger("tempcast")
