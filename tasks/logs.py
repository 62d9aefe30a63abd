"""The log of the current Prefect run, or the `tempcast` logger outside of one."""

import logging
import sys


def run_logger() -> logging.Logger | logging.LoggerAdapter:
    """Prefect's run logger inside a flow or task run (so lines reach the run's log in the UI);
    the standard `tempcast` logger when a task's function is called directly (`task.fn`), and
    always where Prefect was never imported (no run can be going on: steps run as plain
    functions, which must not pay Prefect's start-up)."""
    if "prefect" not in sys.modules:
        return logging.getLogger("tempcast")
    from prefect import get_run_logger
    from prefect.exceptions import MissingContextError

    try:
        return get_run_logger()
    except MissingContextError:
        return logging.getLogger("tempcast")
