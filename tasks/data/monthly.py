"""Monthly: daily observations to a wide table of monthly mean temperatures per location."""

from dataclasses import dataclass

import numpy as np
import pandas as pd

from schemas.monthly import MonthlyTemperatures
from tasks.calls import step
from tasks.data.ingest import IngestResult
from tasks.data.months import last_complete_month, month_labels
from tasks.errors import TempcastError


@dataclass(frozen=True)
class MonthlyTable:
    """Monthly means (NaN where a location has no day in a month) and the days behind each."""

    means: pd.DataFrame
    days: pd.DataFrame


def cut_observations(observations: pd.DataFrame, as_of: pd.Period | None) -> pd.DataFrame:
    """Keep only observations dated on or before the last day of `as_of` (all when None)."""
    if as_of is None:
        return observations
    return observations[observations["Date"] <= as_of.end_time]


@step("build-monthly-table")
def build_monthly_table(observations: pd.DataFrame, as_of: pd.Period | None = None) -> MonthlyTable:
    """MedTemp = midpoint of MinTemp and MaxTemp, averaged per location and calendar month, over
    the observations dated on or before the end of `as_of` (all when None).

    The columns cover every month from the first to the last observation, so a month that no
    location observed is a column of NaN rather than absent. `observations` follows the
    Observations contract, which ingest has already checked.
    """
    observations = cut_observations(observations, as_of)
    if observations.empty:
        raise TempcastError("no accepted observations to build a monthly table from")
    frame = pd.DataFrame(
        {
            "Location": observations["Location"].to_numpy(dtype=object),
            "month": observations["Date"].to_numpy().astype("datetime64[M]"),
            "MedTemp": (observations["MinTemp"] + observations["MaxTemp"]) / 2,
        }
    )
    grouped = frame.groupby(["Location", "month"], sort=True)["MedTemp"].agg(["mean", "size"])
    months = pd.period_range(frame["month"].min(), frame["month"].max(), freq="M")
    columns = pd.DatetimeIndex(months.to_timestamp()).to_numpy().astype("datetime64[M]")
    means = grouped["mean"].unstack().reindex(columns=columns)
    days = grouped["size"].unstack().reindex(columns=columns).fillna(0).astype(np.int64)
    labels = month_labels(months)
    means.columns = days.columns = labels
    means.index = days.index = pd.Index(means.index.astype(str), name="Location")
    means.columns.name = days.columns.name = None
    return MonthlyTable(means=MonthlyTemperatures.validate(means), days=days)


def truth_table(ingested: IngestResult, through: pd.Period | None = None) -> pd.DataFrame:
    """Raw monthly means of the whole file up to its last complete month (no imputation), or up
    to `through` when that is earlier (what was observed by then)."""
    if ingested.last_date is None:
        raise TempcastError("no accepted observations to score backtests against")
    complete = last_complete_month(ingested.last_date)
    if through is not None:
        complete = min(complete, through)
    return build_monthly_table.fn(ingested.accepted, complete).means
