"""The observation store's tables and how to open it: every daily observation ingested, with
where and when it came from, kept in a database through SQLAlchemy (Core).

The database is `sqlite:///observations.db` in the working directory unless
$TEMPCAST_OBSERVATIONS_URI names another SQLAlchemy URL (PostgreSQL: `postgresql+psycopg://...`,
with the `postgres` extra); tasks.places reads it. Tables, created on first use:

- `observation_ingests`: one row per ingested file (its name, SHA-256, layout, when) and what
  it did (rows read, added, changed, unchanged, rejected, missing a temperature);
- `observations`: one row per location and day (temperatures NULL where the file had none),
  with the ingests that first and last wrote it and its place among the first one's rows
  (`seq`): read back in that order, a store loaded from a file gives the file's rows in the
  file's order, hence the same monthly means to the last bit and the same data digest;
- `observation_revisions`: the values a correction replaced, with the ingest that had written
  them and the one that replaced them (nothing is silently lost);
- `observation_rejects`: the rows kept aside, as read, with their reasons.

Writes are in tasks.data.store, reads in tasks.data.store_reads.
"""

import contextlib
from collections.abc import Iterator
from typing import Any

import pandas as pd
import sqlalchemy as sa

from tasks.database import create_missing_tables, engine_on, shown_url, sqlite_file_missing
from tasks.places import DEFAULT_OBSERVATIONS_URI, OBSERVATIONS_VARIABLE, Places

URI_VARIABLE, DEFAULT_URI = OBSERVATIONS_VARIABLE, DEFAULT_OBSERVATIONS_URI
VALUES = ["Date", "Location", "MinTemp", "MaxTemp"]
STORED = {"Date": "date", "Location": "location", "MinTemp": "min_temp", "MaxTemp": "max_temp"}
COUNTS = ("rows_read", "rows_added", "rows_changed", "rows_unchanged", "rows_rejected")
REJECT_COLUMNS = ["record", *VALUES, "reason"]

metadata = sa.MetaData()
ingests_table = sa.Table(
    "observation_ingests",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("source_name", sa.Text, nullable=False),
    sa.Column("source_sha256", sa.String(64), nullable=False, unique=True),
    sa.Column("layout", sa.String(16), nullable=False),
    sa.Column("station", sa.String(16)),
    sa.Column("ingested_at", sa.DateTime(timezone=True), nullable=False),
    *(sa.Column(name, sa.Integer) for name in (*COUNTS, "rows_missing_temperature")),
)
observations_table = sa.Table(
    "observations",
    metadata,
    sa.Column("location", sa.String(64), primary_key=True),
    sa.Column("date", sa.Date, primary_key=True),
    sa.Column("min_temp", sa.Double),
    sa.Column("max_temp", sa.Double),
    sa.Column("first_ingest_id", sa.ForeignKey("observation_ingests.id"), nullable=False),
    sa.Column("seq", sa.Integer, nullable=False),
    sa.Column("ingest_id", sa.ForeignKey("observation_ingests.id"), nullable=False),
)
revisions_table = sa.Table(
    "observation_revisions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("location", sa.String(64), nullable=False),
    sa.Column("date", sa.Date, nullable=False),
    sa.Column("min_temp", sa.Double),
    sa.Column("max_temp", sa.Double),
    sa.Column("ingest_id", sa.ForeignKey("observation_ingests.id"), nullable=False),
    sa.Column("replaced_by", sa.ForeignKey("observation_ingests.id"), nullable=False),
)
rejects_table = sa.Table(
    "observation_rejects",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("ingest_id", sa.ForeignKey("observation_ingests.id"), nullable=False),
    sa.Column("record", sa.Integer, nullable=False),
    *(sa.Column(STORED[name], sa.Text, nullable=False) for name in VALUES),
    sa.Column("reason", sa.Text, nullable=False),
)


def store_uri() -> str:
    """$TEMPCAST_OBSERVATIONS_URI, else the embedded sqlite store in the working directory."""
    return Places.from_environment().observations_uri


def is_database_url(text: str | object) -> bool:
    """Whether `--data` (or $TEMPCAST_DATA) names a database (`sqlite:///observations.db`)
    rather than a file."""
    return isinstance(text, str) and "://" in text


def shown(uri: str) -> str:
    """The store's URL as it may be printed (password hidden)."""
    return shown_url(uri, URI_VARIABLE, DEFAULT_URI)


def create_tables(engine: sa.Engine) -> None:
    """Create the store's tables where missing."""
    create_missing_tables(metadata, engine)


@contextlib.contextmanager
def opened(uri: str) -> Iterator[sa.Engine]:
    """An engine on the store, its tables created first, disposed at the end."""
    with engine_on(uri, "observation store", shown(uri), create_tables) as engine:
        yield engine


def store_exists(uri: str) -> bool:
    """Whether the database holds an observation store yet (nothing is created)."""
    shown(uri)  # a malformed URL is the user's to fix
    if sqlite_file_missing(uri):
        return False
    with engine_on(uri, "observation store", shown(uri)) as engine:
        return sa.inspect(engine).has_table(observations_table.name)


def from_stored(rows: list[Any], columns: list[str]) -> pd.DataFrame:
    """Stored rows as a frame with the pipeline's names: Date as timestamps, temperatures as
    floats (NaN where NULL)."""
    frame = pd.DataFrame([tuple(row) for row in rows], columns=columns)
    frame["Date"] = pd.to_datetime(frame["Date"]).astype("datetime64[us]")
    return frame.astype(dict.fromkeys({"MinTemp", "MaxTemp"} & set(columns), "float64"))


def value_columns(table: sa.Table) -> list[sa.ColumnElement]:
    """The table's Date, Location, MinTemp, MaxTemp columns, labelled with those names."""
    return [table.c[STORED[name]].label(name) for name in VALUES]
