"""The observation store: every daily observation ingested, with where and when it came from,
kept in a database through SQLAlchemy (Core).

The database is `sqlite:///observations.db` in the working directory unless
$TEMPCAST_OBSERVATIONS_URI names another SQLAlchemy URL (PostgreSQL: `postgresql+psycopg://...`,
with the `postgres` extra). Tables, created on first use:

- `observation_ingests`: one row per ingested file (its name, SHA-256, layout, when) and what
  it did (rows read, added, changed, unchanged, rejected, missing a temperature);
- `observations`: one row per location and day (temperatures NULL where the file had none),
  with the ingests that first and last wrote it and its place among the first one's rows
  (`seq`): read back in that order, a store loaded from a file gives the file's rows in the
  file's order, hence the same monthly means to the last bit and the same data digest;
- `observation_revisions`: the values a correction replaced, with the ingest that had written
  them and the one that replaced them (nothing is silently lost);
- `observation_rejects`: the rows kept aside, as read, with their reasons.

An ingest is one transaction: a failed or killed one leaves the store as it was. Its first write
is the ingest's own row, so that SQLite serialises concurrent ingests and a file ingested twice
at once is refused by the unique SHA-256.
"""

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import sqlalchemy as sa

from tasks.database import database_uri, engine_on, shown_url, sqlite_file_missing
from tasks.errors import TempcastError

URI_VARIABLE = "TEMPCAST_OBSERVATIONS_URI"
DEFAULT_URI = "sqlite:///observations.db"
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


@dataclass(frozen=True)
class Provenance:
    """Where an ingest's rows come from: the file's name and SHA-256, its layout, the
    Bureau's station number when the file names one."""

    name: str
    sha256: str
    layout: str
    station: str | None = None


@dataclass(frozen=True)
class Written:
    """What one ingest did to the store: its id (or, for a file ingested before, that
    ingest's id and time, with nothing written), the rows added, and the rows changed with their
    old values (`old_MinTemp`, `old_MaxTemp`)."""

    ingest_id: int
    ingested_at: datetime
    added: pd.DataFrame
    changed: pd.DataFrame
    unchanged: int
    repeated: bool = False


def store_uri() -> str:
    """$TEMPCAST_OBSERVATIONS_URI, else the embedded sqlite store in the working directory."""
    return database_uri(URI_VARIABLE, DEFAULT_URI)


def is_database_url(text: str | object) -> bool:
    """Whether `--data` (or $TEMPCAST_DATA) names a database (`sqlite:///observations.db`)
    rather than a file."""
    return isinstance(text, str) and "://" in text


def shown(uri: str) -> str:
    """The store's URL as it may be printed (password hidden)."""
    return shown_url(uri, URI_VARIABLE, DEFAULT_URI)


@contextlib.contextmanager
def opened(uri: str) -> Iterator[sa.Engine]:
    """An engine on the store, its tables created first, disposed at the end."""
    with engine_on(uri, "observation store", shown(uri), metadata.create_all) as engine:
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


def read_rows(
    connection: sa.Connection, locations: list[str] | None = None, dates: tuple | None = None
) -> pd.DataFrame:
    """Stored observations (VALUES and the `ingest_id` that last wrote each), in the order they
    were first ingested; only `locations` and dates in the closed range `dates` when given."""
    o = observations_table.c
    conditions = []
    if locations is not None:
        conditions.append(o.location.in_(locations))
    if dates is not None:
        conditions.append(o.date.between(*dates))
    query = (
        sa.select(*value_columns(observations_table), o.ingest_id)
        .where(*conditions)
        .order_by(o.first_ingest_id, o.seq)
    )
    return from_stored(connection.execute(query).all(), [*VALUES, "ingest_id"])


def stored_observations(uri: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every stored observation (VALUES, NaN where a temperature is missing, in the order they
    were first ingested) and every row kept aside (REJECT_COLUMNS), for the pipeline to read."""
    r = rejects_table.c
    rejects_query = sa.select(r.record, *value_columns(rejects_table), r.reason).order_by(r.id)
    with opened(uri) as engine, engine.connect() as connection:
        rows = read_rows(connection)[VALUES]
        rejects = pd.DataFrame(connection.execute(rejects_query).all(), columns=REJECT_COLUMNS)
    return rows, rejects


def previous_ingest(connection: sa.Connection, sha256: str) -> sa.Row | None:
    """The ingest of a file with this SHA-256, if one was made."""
    i = ingests_table.c
    query = sa.select(i.id, i.ingested_at).where(i.source_sha256 == sha256)
    return connection.execute(query).first()


def compare(incoming: pd.DataFrame, stored: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split incoming rows (VALUES, one per location and day) into those not stored yet and
    those that change a stored row (with `old_MinTemp`, `old_MaxTemp` and the `ingest_id` that
    wrote them), with the values to store. A missing value never replaces an observed one: where
    the incoming row lacks a temperature, the stored one stays; a row that then equals the
    stored one changes nothing."""
    merged = incoming.merge(
        stored.rename(columns={"MinTemp": "old_MinTemp", "MaxTemp": "old_MaxTemp"}),
        on=["Date", "Location"],
        how="left",
        indicator=True,
    )
    new = merged["_merge"] == "left_only"
    same = pd.Series(True, index=merged.index)
    for column in ("MinTemp", "MaxTemp"):
        old = merged[f"old_{column}"]
        merged[column] = merged[column].where(new | merged[column].notna(), old)
        same &= (merged[column] == old) | (merged[column].isna() & old.isna())
    changes = ~new & ~same
    added = merged.loc[new, VALUES].reset_index(drop=True)
    return added, merged.loc[changes].drop(columns="_merge").reset_index(drop=True)


def changes_to(connection: sa.Connection, incoming: pd.DataFrame) -> tuple[pd.DataFrame, ...]:
    """`compare` the incoming rows with the stored rows of their locations and dates."""
    if not len(incoming):
        return incoming, incoming.assign(ingest_id=0)
    span = (incoming["Date"].min().date(), incoming["Date"].max().date())
    return compare(incoming, read_rows(connection, incoming["Location"].unique().tolist(), span))


def as_records(frame: pd.DataFrame, names: dict[str, str], **fixed: Any) -> list[dict[str, Any]]:
    """Rows as plain Python values under the store's names (dates as dates, NaN as NULL), with
    `fixed` values added to each."""
    values = frame[list(names)].rename(columns=names)
    if "date" in values and pd.api.types.is_datetime64_any_dtype(values["date"]):
        values["date"] = values["date"].dt.date
    records = values.astype(object).where(values.notna(), None).to_dict(orient="records")
    return [{**record, **fixed} for record in records]


def record_ingest(connection: sa.Connection, source: Provenance, at: datetime) -> int:
    """Insert the ingest's own row (its counts come at the end); its id."""
    values = {
        "source_name": source.name,
        "source_sha256": source.sha256,
        "layout": source.layout,
        "station": source.station,
        "ingested_at": at,
    }
    return connection.execute(sa.insert(ingests_table).values(**values)).inserted_primary_key[0]


def write_changes(
    connection: sa.Connection, ingest_id: int, added: pd.DataFrame, changed: pd.DataFrame
) -> None:
    """Insert the new rows; keep the old values of each changed row as a revision, then replace
    them."""
    if len(added):
        numbered = added.assign(seq=range(len(added)))
        ids = {"first_ingest_id": ingest_id, "ingest_id": ingest_id}
        records = as_records(numbered, {**STORED, "seq": "seq"}, **ids)
        connection.execute(sa.insert(observations_table), records)
    if not len(changed):
        return
    o = observations_table.c
    old = {"Date": "date", "Location": "location", "old_MinTemp": "min_temp"}
    old |= {"old_MaxTemp": "max_temp", "ingest_id": "ingest_id"}
    connection.execute(sa.insert(revisions_table), as_records(changed, old, replaced_by=ingest_id))
    update = (
        sa.update(observations_table)
        .where(o.location == sa.bindparam("b_location"), o.date == sa.bindparam("b_date"))
        .values(min_temp=sa.bindparam("b_min"), max_temp=sa.bindparam("b_max"), ingest_id=ingest_id)
    )
    names = {"Location": "b_location", "Date": "b_date", "MinTemp": "b_min", "MaxTemp": "b_max"}
    connection.execute(update, as_records(changed, names))


def write_rejects(connection: sa.Connection, ingest_id: int, rejects: pd.DataFrame) -> None:
    """Keep the rows set aside, as read, with their reasons."""
    if len(rejects):
        names = {"record": "record", **STORED, "reason": "reason"}
        records = as_records(rejects, names, ingest_id=ingest_id)
        connection.execute(sa.insert(rejects_table), records)


def append_ingest(
    uri: str,
    source: Provenance,
    incoming: pd.DataFrame,
    rejects: pd.DataFrame,
    counts: dict[str, int],
) -> Written:
    """Store one file's validated rows (`incoming`: VALUES, NaN where missing) and its rejects
    in one transaction: new rows added, changed rows replaced with their old values kept as
    revisions. A file stored before (same SHA-256) writes nothing and says which ingest it was.
    `counts` (rows read, rejected, missing a temperature) are recorded with the ingest."""
    at = datetime.now(UTC)
    with opened(uri) as engine:
        with engine.connect() as connection:
            before = previous_ingest(connection, source.sha256)
        if before is not None:
            return repeated(before)
        try:
            with engine.begin() as connection:
                ingest_id = record_ingest(connection, source, at)
                added, changed = changes_to(connection, incoming)
                write_changes(connection, ingest_id, added, changed)
                write_rejects(connection, ingest_id, rejects)
                unchanged = len(incoming) - len(added) - len(changed)
                totals = {
                    **counts,
                    "rows_added": len(added),
                    "rows_changed": len(changed),
                    "rows_unchanged": unchanged,
                }
                connection.execute(
                    sa.update(ingests_table).where(ingests_table.c.id == ingest_id).values(**totals)
                )
        except sa.exc.IntegrityError:
            with engine.connect() as connection:
                before = previous_ingest(connection, source.sha256)
            if before is None:
                raise
            return repeated(before)
    return Written(ingest_id, at, added, changed.drop(columns="ingest_id"), unchanged)


def repeated(before: sa.Row) -> Written:
    """What a file ingested before writes: nothing, and which ingest it was."""
    empty = pd.DataFrame(columns=VALUES)
    return Written(before.id, before.ingested_at, empty, empty, 0, repeated=True)


def check_store(uri: str) -> str:
    """Fail fast, before any flow starts, when `--data` names a store without observations."""
    if not store_exists(uri) or not has_observations(uri):
        raise TempcastError(
            f"observation store {shown(uri)} holds no observations yet: tempcast ingest FILE..."
        )
    return uri


def has_observations(uri: str) -> bool:
    """Whether the store holds at least one observation."""
    with opened(uri) as engine, engine.connect() as connection:
        first = connection.execute(sa.select(observations_table.c.location).limit(1)).first()
    return first is not None


def date_span(uri: str) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """The first and last stored day (None when nothing is stored)."""
    o = observations_table.c
    with opened(uri) as engine, engine.connect() as connection:
        first, last = connection.execute(sa.select(sa.func.min(o.date), sa.func.max(o.date))).one()
    return None if first is None else (pd.Timestamp(first), pd.Timestamp(last))


def day_rows(uri: str, location: str | None = None, month: pd.Period | None = None) -> pd.DataFrame:
    """Per stored day (of `location`, any letter case, and `month` when given): location,
    date, whether both temperatures are known (`complete`), and the first and last ingests
    that wrote it with their times."""
    o, first, last = observations_table.c, ingests_table.alias(), ingests_table.alias()
    conditions = []
    if location is not None:
        conditions.append(sa.func.lower(o.location) == location.lower())
    if month is not None:
        conditions.append(o.date.between(month.start_time.date(), month.end_time.date()))
    query = (
        sa.select(
            o.location,
            o.date,
            (o.min_temp.is_not(None) & o.max_temp.is_not(None)).label("complete"),
            o.first_ingest_id,
            first.c.ingested_at.label("first_at"),
            o.ingest_id,
            last.c.ingested_at.label("last_at"),
        )
        .join(first, first.c.id == o.first_ingest_id)
        .join(last, last.c.id == o.ingest_id)
        .where(*conditions)
        .order_by(o.location, o.date)
    )
    with opened(uri) as engine, engine.connect() as connection:
        rows = connection.execute(query).all()
    columns = [
        "location",
        "date",
        "complete",
        "first_ingest_id",
        "first_at",
        "ingest_id",
        "last_at",
    ]
    frame = pd.DataFrame([tuple(row) for row in rows], columns=columns)
    return frame.astype({"date": "datetime64[us]", "complete": bool})


def stored_locations(uri: str) -> list[str]:
    """Every location with a stored observation, sorted."""
    query = (
        sa.select(observations_table.c.location).distinct().order_by(observations_table.c.location)
    )
    with opened(uri) as engine, engine.connect() as connection:
        return list(connection.execute(query).scalars())


def days_between(uri: str, first: pd.Timestamp, last: pd.Timestamp) -> pd.DataFrame:
    """The stored days (location, date, first_ingest_id) from `first` to `last` inclusive."""
    o = observations_table.c
    query = sa.select(o.location, o.date, o.first_ingest_id).where(
        o.date.between(first.date(), last.date())
    )
    with opened(uri) as engine, engine.connect() as connection:
        rows = connection.execute(query).all()
    frame = pd.DataFrame(
        [tuple(row) for row in rows], columns=["location", "date", "first_ingest_id"]
    )
    return frame.astype({"date": "datetime64[us]"})
