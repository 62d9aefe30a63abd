"""The month a run's data is cut at (`as_of`): requested, from the schedule, or the data's last."""

from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

import pandas as pd

from tasks.data.months import last_complete_month, parse_month
from tasks.errors import TempcastError

SCHEDULE_TIMEZONE = ZoneInfo("Australia/Sydney")


@dataclass(frozen=True)
class AsOf:
    """The resolved cut-off month, how it was chosen, and whether the data is stale for it."""

    month: pd.Period
    source: str
    stale: bool = False
    note: str = ""

    @property
    def label(self) -> str:
        """'YYYY-MM'."""
        return str(self.month)


def scheduled_month(scheduled_start: datetime) -> pd.Period:
    """The month before a scheduled run's date, in the schedule's time zone (Australia/Sydney)."""
    local = scheduled_start.astimezone(SCHEDULE_TIMEZONE)
    return pd.Period(year=local.year, month=local.month, freq="M") - 1


def resolve_as_of(
    requested: str | None, last_date: pd.Timestamp, scheduled_start: datetime | None = None
) -> AsOf:
    """Choose as_of: the requested month, else the month before a scheduled run's date, else the
    last complete month in the data; never later than the last complete month.

    A requested month after the data is an error; a scheduled run whose month the data does not
    reach yet is stale: it runs on the last complete month and says so in `note`.
    """
    complete = last_complete_month(last_date)
    if requested:
        month = parse_month(requested, "as_of")
        if month > complete:
            raise TempcastError(
                f"as_of {month} is after the last complete month in the data ({complete};"
                f" the data ends on {last_date.date()})"
            )
        return AsOf(month, "requested")
    if scheduled_start is not None:
        wanted = scheduled_month(scheduled_start)
        if wanted > complete:
            return AsOf(
                complete,
                "schedule",
                stale=True,
                note=f"stale data: the schedule asks for {wanted} but the data ends on"
                f" {last_date.date()}, so this run uses {complete}",
            )
        return AsOf(wanted, "schedule")
    return AsOf(complete, "data")
