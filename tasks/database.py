"""The project's SQLAlchemy databases (the forecast history, the observation store): their URLs
as they may be printed, and engines whose failures are one-line errors naming the database.

Each database is named by one environment variable (read by tasks.places), else an embedded
SQLite file in the working directory; SQLite commits through a write-ahead log
(tasks.sqlite_journal).
"""

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path

import sqlalchemy as sa

import tasks.sqlite_journal  # noqa: F401  (SQLite databases commit through a write-ahead log)
from tasks.errors import InfrastructureError, TempcastError

DRIVER_HINT = {"postgresql": "install the driver with the extra: pip install 'tempcast[postgres]'"}


def first_line(error: BaseException) -> str:
    """The first line of an error's message (SQLAlchemy adds a link on later lines)."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def shown_url(uri: str, variable: str, example: str) -> str:
    """The URL as it may be printed (password hidden); a malformed one is the user's to fix,
    named with the variable that sets it and an `example` of a good one."""
    try:
        return sa.make_url(uri).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        raise TempcastError(f"{variable} {uri!r} is not a database URL (say {example})") from None


@contextlib.contextmanager
def engine_on(
    uri: str, what: str, label: str, prepare: Callable[[sa.Engine], object] | None = None
) -> Iterator[sa.Engine]:
    """An engine on the database `what` (its URL shown as `label`), `prepare`d first (tables
    created), disposed at the end. A missing driver is the user's to fix (TempcastError); a
    database that cannot be reached or used is an InfrastructureError naming it."""
    try:
        engine = sa.create_engine(uri)
    except (sa.exc.NoSuchModuleError, ImportError) as error:
        hint = DRIVER_HINT.get(sa.make_url(uri).get_backend_name(), "install its driver")
        raise TempcastError(f"{what} {label}: {first_line(error)}; {hint}") from None
    try:
        if prepare is not None:
            prepare(engine)
        yield engine
    except sa.exc.SQLAlchemyError as error:
        raise InfrastructureError(f"{what} at {label} failed: {first_line(error)}") from error
    finally:
        engine.dispose()


def create_missing_tables(metadata: sa.MetaData, engine: sa.Engine) -> None:
    """Create the tables of `metadata` that the database lacks. Two commands started at once
    may both find a table missing and both create it: the one that loses the race finds the
    table made and goes on (seen with two retrains at once against one new history)."""
    try:
        metadata.create_all(engine)
    except sa.exc.DBAPIError:
        present = set(sa.inspect(engine).get_table_names())
        if not set(metadata.tables) <= present:
            raise


def sqlite_file_missing(uri: str) -> bool:
    """Whether `uri` names a SQLite file that does not exist (so nothing is stored there yet)."""
    url = sa.make_url(uri)
    file = url.database if url.get_backend_name() == "sqlite" else None
    return bool(file) and file != ":memory:" and not Path(file).exists()
