"""SQLite databases (the embedded MLflow store, the forecast history) in write-ahead-log mode.

Importing this module makes every SQLite connection that SQLAlchemy opens in this process commit
through a write-ahead log, synced at checkpoints: a commit waits for no disk flush (a location's
tracking and promotion commit about twenty times), readers and the writer do not block each
other, and what was committed survives a crash of the process. MLflow makes its own engine, so
the listener is on every engine, not on one.
"""

import contextlib
import sqlite3

from sqlalchemy import event
from sqlalchemy.engine import Engine


@event.listens_for(Engine, "connect")
def _write_ahead_log(connection: object, _record: object) -> None:
    """Switch a new SQLite connection's database to the write-ahead log (a no-op once it is);
    a database another process is switching at that moment stays as it is."""
    if isinstance(connection, sqlite3.Connection):
        with contextlib.suppress(sqlite3.OperationalError):
            connection.execute("PRAGMA journal_mode=WAL")
            connection.execute("PRAGMA synchronous=NORMAL")
