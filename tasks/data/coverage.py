"""What the observation store holds per location and month: days observed, whether the month is
complete, and the first and last ingest that wrote it, so that "is June complete?" has an answer
in one command (`tempcast observations --month 2017-06`)."""

import pandas as pd

from tasks.data.months import parse_month
from tasks.data.store_reads import check_store, day_rows, stored_locations
from tasks.data.store_tables import shown
from tasks.errors import TempcastError

COVERAGE_COLUMNS = [
    *("location", "month", "days", "of", "complete", "missing", "last_day"),
    *("first_ingest", "last_ingest"),
]


def ingest_label(ingest_id: pd.Series, at: pd.Series) -> pd.Series:
    """'3 (2017-07-02 09:40)': an ingest's id and when it was made (UTC)."""
    times = pd.to_datetime(at, utc=True).dt.strftime("%Y-%m-%d %H:%M")
    return ingest_id.astype(str) + " (" + times + ")"


def month_coverage(days: pd.DataFrame) -> pd.DataFrame:
    """Per location and month (COVERAGE_COLUMNS): the days with both temperatures, the days in
    the month, whether every one of them is observed, the days stored without a temperature,
    the last day observed, and the first and last ingests that wrote any of its days."""
    if days.empty:
        return pd.DataFrame(columns=COVERAGE_COLUMNS)
    days = days.assign(month=days["date"].dt.to_period("M"))
    first = days.loc[days.groupby(["location", "month"])["first_ingest_id"].idxmin()]
    last = days.loc[days.groupby(["location", "month"])["ingest_id"].idxmax()]
    grouped = days.groupby(["location", "month"])
    table = pd.DataFrame(
        {
            "days": grouped["complete"].sum(),
            "missing": grouped["complete"].size() - grouped["complete"].sum(),
            "last_day": grouped["date"].max().dt.day,
        }
    ).reset_index()
    table["of"] = table["month"].dt.days_in_month
    table["complete"] = (table["days"] == table["of"]).map({True: "yes", False: "no"})
    table["first_ingest"] = ingest_label(first["first_ingest_id"], first["first_at"]).to_numpy()
    table["last_ingest"] = ingest_label(last["ingest_id"], last["last_at"]).to_numpy()
    table["month"] = table["month"].astype(str)
    return table[COVERAGE_COLUMNS]


def store_coverage(uri: str, location: str | None = None, month: str | None = None) -> pd.DataFrame:
    """The coverage of the stored months that match the filters; an empty store, a month not
    YYYY-MM or a location without observations is an error naming it."""
    period = parse_month(month, "--month") if month else None
    check_store(uri)
    if location is not None:
        known = stored_locations(uri)
        if location.lower() not in {name.lower() for name in known}:
            raise TempcastError(
                f"no stored observation for location {location!r} in {shown(uri)};"
                f" stored: {', '.join(known)}"
            )
    return month_coverage(day_rows(uri, location, period))


def format_coverage(table: pd.DataFrame) -> str:
    """The coverage as an aligned table with a count of complete months."""
    if table.empty:
        return "no stored observation matches"
    complete = int((table["complete"] == "yes").sum())
    return (
        f"{table.to_string(index=False)}\n{len(table):,} location-months,"
        f" {complete:,} complete (every day observed with both temperatures)"
    )
