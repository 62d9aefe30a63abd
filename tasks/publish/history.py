"""The forecast history: every forecast a retrain published and, once its month is observed, the
actual value, kept in a database through SQLAlchemy.

The database is `sqlite:///forecasts.db` in the working directory (beside mlflow.db) unless
$TEMPCAST_FORECASTS_URI names another SQLAlchemy URL (PostgreSQL: `postgresql+psycopg://...`,
with the `postgres` extra). Its tables are created on first use. Writes are idempotent: a
forecast is one row per (location, as_of, model version, month), a score one row per forecast,
and a row already stored is kept as it is. This module imports neither Prefect nor MLflow, so
that `tempcast forecasts` answers at once.

A forecast's distribution (quantiles, `p_above_median`, `median`, `base_rate`) is kept in
nullable columns of the forecasts table rather than in a table of its own: one row per
forecast reads, filters and prints as it is, and scoring it needs no pivot. A history written
before those columns existed is migrated on first use: each missing nullable column is added
(ALTER TABLE ... ADD COLUMN), its old rows keeping their values with NULL in the new columns.
"""

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from schemas.forecasts import DISTRIBUTION_COLUMNS, FORECAST_KEY, PublishedForecasts
from tasks.data.months import parse_month
from tasks.database import create_missing_tables, engine_on, shown_url, sqlite_file_missing
from tasks.errors import TempcastError
from tasks.places import DEFAULT_HISTORY_URI, HISTORY_VARIABLE, Places
from tasks.publish.history_tables import (
    FORECAST_COLUMNS,
    HISTORY_COLUMNS,
    SCORE_COLUMNS,
    add_missing_columns,
    column_names,
    forecasts_table,
    metadata,
    scores_table,
)

__all__ = ["column_names"]  # with the other names of the history's tables, read by its tests

URI_VARIABLE, DEFAULT_URI = HISTORY_VARIABLE, DEFAULT_HISTORY_URI
# Dialects whose INSERT can skip rows that break a unique key (ON CONFLICT DO NOTHING).
INSERT_IGNORING = {"sqlite": sqlite.insert, "postgresql": postgresql.insert}

TABLE_COLUMNS = [
    *("location", "as_of", "month", "lead", "model_version", "forecast"),
    *("q10", "q50", "q90", "p_above_median", "climatology", "actual", "error", "climatology_error"),
]
FLOAT_COLUMNS = ["forecast", "climatology", *DISTRIBUTION_COLUMNS, "actual"]


def history_uri() -> str:
    """$TEMPCAST_FORECASTS_URI, else the embedded sqlite database in the working directory."""
    return Places.from_environment().history_uri


def shown(uri: str) -> str:
    """The URL as it may be printed (password hidden); a malformed one is the user's to fix."""
    return shown_url(uri, URI_VARIABLE, DEFAULT_URI)


def create_tables(engine: sa.Engine) -> None:
    """Create the history's tables where missing and bring an older history up to date."""
    create_missing_tables(metadata, engine)
    add_missing_columns(engine, forecasts_table)


@contextlib.contextmanager
def opened(uri: str, create: bool = True) -> Iterator[sa.Engine]:
    """An engine on the history database, its tables created first when `create`, disposed at
    the end (tasks.database.engine_on: a missing driver or a failing database in one line)."""
    prepare = create_tables if create else None
    with engine_on(uri, "forecast history", shown(uri), prepare) as engine:
        yield engine


def history_exists(uri: str) -> bool:
    """Whether the database holds a forecast history yet (checked without creating anything)."""
    shown(uri)  # a malformed URL is the user's to fix
    if sqlite_file_missing(uri):
        return False
    with opened(uri, create=False) as engine:
        return sa.inspect(engine).has_table(forecasts_table.name)


def stored_keys(
    connection: sa.Connection, table: sa.Table, records: list[dict[str, Any]], key: list[str]
) -> set[tuple]:
    """The keys of `records` that the table already holds."""
    columns = [table.c[name] for name in key]
    query = sa.select(*columns).where(
        *(column.in_({record[column.name] for record in records}) for column in columns)
    )
    wanted = {tuple(record[name] for name in key) for record in records}
    return {tuple(row) for row in connection.execute(query)} & wanted


def insert_new(
    connection: sa.Connection, table: sa.Table, records: list[dict[str, Any]], key: list[str]
) -> int:
    """Insert the records whose key is not stored yet; how many that was. Where the database
    has ON CONFLICT DO NOTHING, a concurrent writer of the same rows cannot make it fail."""
    if not records:
        return 0
    stored = stored_keys(connection, table, records, key)
    new = [record for record in records if tuple(record[name] for name in key) not in stored]
    if new:
        insert = INSERT_IGNORING.get(connection.dialect.name)
        statement = (
            insert(table).on_conflict_do_nothing(index_elements=key) if insert else sa.insert(table)
        )
        connection.execute(statement, new)
    return len(new)


def as_records(frame: pd.DataFrame, times: list[str]) -> list[dict[str, Any]]:
    """Rows as plain Python values (timestamps as datetimes, NaN as NULL: PostgreSQL would keep
    a NaN), ready for the database driver."""
    records = frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
    for record in records:
        for column in times:
            record[column] = record[column].to_pydatetime()
    return records


def append_forecasts(uri: str, rows: pd.DataFrame) -> int:
    """Check the rows against their contract, then append those not stored yet, in one
    transaction; how many were new (0 when a retrain is repeated or resumed). Rows without the
    distribution columns (a forecaster without quantiles) store NULL there."""
    missing = {name: float("nan") for name in DISTRIBUTION_COLUMNS if name not in rows.columns}
    checked = PublishedForecasts.validate(rows.assign(**missing), lazy=True)
    records = as_records(checked[FORECAST_COLUMNS], ["published_at"])
    with opened(uri) as engine, engine.begin() as connection:
        return insert_new(connection, forecasts_table, records, FORECAST_KEY)


def append_scores(uri: str, scores: pd.DataFrame, as_of: str, scored_at: datetime) -> int:
    """Store the actual value of each forecast (`forecast_id`, `actual`) not scored yet, in one
    transaction, marked with the as_of of the retrain that scored it; how many were new."""
    records = [
        {
            "forecast_id": int(row.forecast_id),
            "actual": float(row.actual),
            "scored_as_of": as_of,
            "scored_at": scored_at,
        }
        for row in scores.itertuples()
    ]
    with opened(uri) as engine, engine.begin() as connection:
        return insert_new(connection, scores_table, records, ["forecast_id"])


def read_forecasts(
    uri: str,
    *,
    location: str | None = None,
    as_of: str | None = None,
    month: str | None = None,
    through: str | None = None,
    scored: bool | None = None,
    scored_as_of: str | None = None,
) -> pd.DataFrame:
    """Stored forecasts with their actual values where scored (HISTORY_COLUMNS), in the order
    location, as_of, version, month; filtered by location (any letter case), as_of, target
    month, target months up to `through`, scored or not, and the as_of that scored them."""
    f, s = forecasts_table.c, scores_table.c
    conditions = []
    if location is not None:
        conditions.append(sa.func.lower(f.location) == location.lower())
    if as_of is not None:
        conditions.append(f.as_of == as_of)
    if month is not None:
        conditions.append(f.month == month)
    if through is not None:
        conditions.append(f.month <= through)
    if scored is not None:
        conditions.append(s.actual.is_not(None) if scored else s.actual.is_(None))
    if scored_as_of is not None:
        conditions.append(s.scored_as_of == scored_as_of)
    query = (
        sa.select(forecasts_table, *(s[name] for name in SCORE_COLUMNS))
        .select_from(forecasts_table.outerjoin(scores_table))
        .where(*conditions)
        .order_by(f.location, f.as_of, f.model_version, f.month)
    )
    with opened(uri) as engine, engine.connect() as connection:
        rows = connection.execute(query).mappings().all()
    frame = pd.DataFrame([dict(row) for row in rows], columns=HISTORY_COLUMNS)
    for column in ("published_at", "scored_at"):  # sqlite gives naive UTC, PostgreSQL aware
        frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame.astype(dict.fromkeys(FLOAT_COLUMNS, float))


def latest_versions(uri: str, before: str | None = None) -> pd.DataFrame:
    """Per location, the model (name and version) of its most recent forecast published as of a
    month before `before` (any month when None): the champion in production then."""
    f = forecasts_table.c
    newest = (
        sa.select(f.location, sa.func.max(f.as_of).label("as_of"))
        .where(*([f.as_of < before] if before else []))
        .group_by(f.location)
        .subquery()
    )
    query = (
        sa.select(f.location, f.model_name, sa.func.max(f.model_version).label("model_version"))
        .join(newest, (f.location == newest.c.location) & (f.as_of == newest.c.as_of))
        .group_by(f.location, f.model_name)
        .order_by(f.location)
    )
    with opened(uri) as engine, engine.connect() as connection:
        rows = connection.execute(query).all()
    return pd.DataFrame(rows, columns=["location", "model_name", "model_version"])


def stored_locations(uri: str) -> list[str]:
    """Every location with a stored forecast, sorted."""
    query = sa.select(forecasts_table.c.location).distinct().order_by(forecasts_table.c.location)
    with opened(uri) as engine, engine.connect() as connection:
        return list(connection.execute(query).scalars())


def with_errors(rows: pd.DataFrame) -> pd.DataFrame:
    """Forecasts with their errors where scored: `error` (forecast - actual), `climatology_error`
    (climatology - actual), and both as absolute values."""
    errors = {
        "error": rows["forecast"] - rows["actual"],
        "climatology_error": rows["climatology"] - rows["actual"],
    }
    return rows.assign(
        **errors,
        abs_error=errors["error"].abs(),
        climatology_abs_error=errors["climatology_error"].abs(),
    )


def observed_values(unscored: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    """The actual value of each unscored forecast (`id`, `location`, `month`) whose month the
    truth table (raw monthly means, locations by months) has observed: `forecast_id`, `actual`."""
    observed = (
        truth.rename_axis("location")
        .reset_index()
        .melt(id_vars="location", var_name="month", value_name="actual")
        .dropna(subset=["actual"])
    )
    scored = unscored[["id", "location", "month"]].merge(observed, on=["location", "month"])
    return scored[["id", "actual"]].rename(columns={"id": "forecast_id"})


@dataclass(frozen=True)
class ScoredHistory:
    """The history's track record as of a month: every forecast scored up to it (with its
    errors), how many this as_of scored (by their own as_of), and each location's champion
    (name, version) of its latest forecast published before it."""

    scored: pd.DataFrame
    scored_now: dict[str, int]
    champions: pd.DataFrame


def score_forecasts(
    uri: str, truth: pd.DataFrame, as_of: str, scored_at: datetime
) -> ScoredHistory:
    """Store the actual value of every forecast whose month is observed up to as_of (`truth`:
    raw monthly means) and not scored yet, in one transaction; then read the track record back.
    Repeating it for the same as_of scores nothing twice."""
    unscored = read_forecasts(uri, through=as_of, scored=False)
    append_scores(uri, observed_values(unscored, truth), as_of, scored_at)
    scored = with_errors(read_forecasts(uri, through=as_of, scored=True))
    now = scored[scored["scored_as_of"] == as_of].groupby("as_of").size()
    return ScoredHistory(
        scored=scored,
        scored_now={str(k): int(v) for k, v in now.items()},
        champions=latest_versions(uri, before=as_of),
    )


def forecast_history(
    uri: str, location: str | None = None, as_of: str | None = None, month: str | None = None
) -> pd.DataFrame:
    """The stored forecasts that match the filters, with their errors where scored. A month
    that is not YYYY-MM, a database without a history, or a location with no stored forecast is
    an error naming it."""
    as_of = str(parse_month(as_of, "--as-of")) if as_of else None
    month = str(parse_month(month, "--month")) if month else None
    if not history_exists(uri):
        raise TempcastError(
            f"no forecast history at {shown(uri)} yet: a retrain writes it"
            f" (${URI_VARIABLE} chooses the database)"
        )
    known = stored_locations(uri)
    if location and location.lower() not in {name.lower() for name in known}:
        raise TempcastError(
            f"no stored forecast for location {location!r}; stored: {', '.join(known) or 'none'}"
        )
    return with_errors(read_forecasts(uri, location=location, as_of=as_of, month=month))


def format_history(frame: pd.DataFrame, style: str) -> str:
    """Stored forecasts as CSV, JSON (records, ISO dates, null where unknown) or an aligned
    table of the main columns with a count of scored ones."""
    if style == "csv":
        return frame.to_csv(index=False).rstrip("\n")
    if style == "json":
        return frame.to_json(orient="records", date_format="iso", indent=2)
    if frame.empty:
        return "no stored forecast matches"
    table = frame[TABLE_COLUMNS].to_string(index=False, na_rep="", float_format="{:.3f}".format)
    scored = int(frame["actual"].notna().sum())
    return f"{table}\n{len(frame):,} forecasts, {scored:,} scored against the observed month"
