"""The project's two kinds of expected failure, told apart by the exit status of the CLI."""


class TempcastError(Exception):
    """A problem with the user's input or settings, reported in one line without a traceback.

    The message names the thing at fault (a file, a column, a location, a month) and the problem,
    so that the CLI can print it as it is and exit with status 2.
    """


class InfrastructureError(Exception):
    """A failure of what tempcast runs on (the tracking store, the Prefect API) or of some of its
    units of work: reported in one line, exit status 1. Starting the same command again once the
    cause is gone completes the work."""
