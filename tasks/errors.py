"""The one exception type for errors a user can cause."""


class TempcastError(Exception):
    """A problem with the user's input or settings, reported in one line without a traceback.

    The message names the thing at fault (a file, a column, a location, a month) and the problem,
    so that the CLI can print it as it is and exit non-zero.
    """
