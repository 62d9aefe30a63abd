"""Reads of the observation store (tasks.data.store_tables): the rows for the pipeline, the
span of days stored, and the days per location and month for coverage and completeness."""

import pandas as pd
import sqlalchemy as sa

from tasks.data.store_tables import (
    REJECT_COLUMNS,
    VALUES,
    from_stored,
    ingests_table,
    observations_table,
    opened,
    rejects_table,
    shown,
    store_exists,
    value_columns,
)
from tasks.errors import TempcastError


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
