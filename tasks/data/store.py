"""Writes to the observation store (tasks.data.store_tables): one ingest of one file.

An ingest is one transaction: a failed or killed one leaves the store as it was. Its first write
is the ingest's own row, so that SQLite serialises concurrent ingests and a file ingested twice
at once is refused by the unique SHA-256. A row that changes a stored value keeps the old one
as a revision.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import sqlalchemy as sa

from tasks.data.store_reads import read_rows
from tasks.data.store_tables import (
    STORED,
    VALUES,
    ingests_table,
    observations_table,
    opened,
    rejects_table,
    revisions_table,
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
