"""Selection: which locations and months go on to imputation and training, every drop explained.

`article` reproduces the recipe (five sparse locations dropped, 2009-01..2016-12 kept); `auto`
derives the same kind of choice from the data itself. Both then drop any location that still
cannot be filled by interpolation, because it has no data at an edge of the kept months.
"""

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from tasks.calls import step
from tasks.data.monthly import MonthlyTable
from tasks.data.months import describe_months, last_complete_month
from tasks.data.rules import SelectionMethod, SelectionRules
from tasks.errors import TempcastError

ARTICLE_DROPPED_LOCATIONS = ("Dartmoor", "Katherine", "Melbourne", "Nhil", "Uluru")
ARTICLE_MONTHS = ("2009-01", "2016-12")


@dataclass(frozen=True)
class Selection:
    """The kept table (interior gaps still NaN) and why each location or month was dropped."""

    table: pd.DataFrame
    locations_dropped: dict[str, str] = field(default_factory=dict)
    months_dropped: dict[str, str] = field(default_factory=dict)


def _runs(missing: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) index pairs of the runs of True in a boolean vector."""
    padded = np.concatenate([[False], missing, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return list(zip(edges[::2], edges[1::2], strict=True))


def unfillable_reason(row: pd.Series) -> str | None:
    """Why a location's series cannot be interpolated (no data at its first or last month)."""
    months = list(row.index)
    runs = _runs(row.isna().to_numpy())
    edge_runs = [(a, b) for a, b in runs if a == 0 or b == len(months)]
    if not edge_runs:
        return None
    spans = ", ".join(describe_months(months[a:b]) for a, b in edge_runs)
    return f"cannot be filled: no data for {spans} at an edge of {describe_months(months)}"


def drop_unfillable(table: pd.DataFrame, dropped: dict[str, str]) -> pd.DataFrame:
    """Remove locations whose gaps reach the first or last month, recording why in `dropped`."""
    keep = []
    for location, row in table.iterrows():
        reason = unfillable_reason(row)
        if reason is None:
            keep.append(location)
        else:
            dropped[str(location)] = reason
    return table.loc[keep]


def select_article(monthly: MonthlyTable) -> Selection:
    """The recipe's choice: its five locations out, months 2009-01..2016-12 in."""
    means = monthly.means
    first, last = ARTICLE_MONTHS
    months_dropped = {
        month: f"outside the article recipe's months {first}..{last}"
        for month in means.columns
        if not first <= month <= last
    }
    locations_dropped = {
        name: "dropped by the article recipe (sparse location)"
        for name in ARTICLE_DROPPED_LOCATIONS
        if name in means.index
    }
    table = means.drop(index=list(locations_dropped), columns=list(months_dropped))
    table = drop_unfillable(table, locations_dropped)
    return Selection(table, locations_dropped, months_dropped)


def _trim_sparse_edges(
    means: pd.DataFrame, rules: SelectionRules, months_dropped: dict[str, str]
) -> pd.DataFrame:
    """Drop leading and trailing months that too few locations observed."""
    present = means.notna().sum(axis=0)
    covered = (present / len(means) >= rules.min_month_coverage).to_numpy()
    if not covered.any():
        raise TempcastError(
            f"no month has data for at least {rules.min_month_coverage:.0%} of the locations"
        )
    first, last = np.flatnonzero(covered)[[0, -1]]
    for position, month in enumerate(means.columns):
        if position < first or position > last:
            months_dropped[month] = f"sparse: {present[month]} of {len(means)} locations have data"
    return means.iloc[:, first : last + 1]


def _gap_reasons(row: pd.Series, rules: SelectionRules) -> list[str]:
    """Why a location has too many or too long gaps in the kept months (empty when it has not)."""
    months = list(row.index)
    missing = row.isna().to_numpy()
    reasons = []
    if missing.mean() > rules.max_missing_share:
        reasons.append(
            f"too many gaps: {int(missing.sum())} of {len(months)} months missing"
            f" (more than {rules.max_missing_share:.0%})"
        )
    long_gaps = [(a, b) for a, b in _runs(missing) if b - a > rules.max_gap_months]
    if long_gaps:
        a, b = max(long_gaps, key=lambda run: run[1] - run[0])
        reasons.append(
            f"gap too long: {b - a} months missing in {describe_months(months[a:b])}"
            f" (more than {rules.max_gap_months})"
        )
    return reasons


def select_auto(monthly: MonthlyTable, last_date: pd.Timestamp, rules: SelectionRules) -> Selection:
    """Derive the selection from the data: complete, covered months and well-filled locations."""
    means = monthly.means
    months_dropped: dict[str, str] = {}
    complete_through = str(last_complete_month(last_date))
    for month in means.columns:
        if month > complete_through:
            months_dropped[month] = f"incomplete: the data ends on {last_date.date()}"
    means = _trim_sparse_edges(
        means.loc[:, means.columns <= complete_through], rules, months_dropped
    )
    locations_dropped: dict[str, str] = {}
    for location, row in means.iterrows():
        reasons = _gap_reasons(row, rules)
        unfillable = unfillable_reason(row)
        if unfillable:
            reasons.insert(0, unfillable)
        if reasons:
            locations_dropped[str(location)] = "; ".join(reasons)
    table = means.drop(index=list(locations_dropped))
    return Selection(table, locations_dropped, dict(sorted(months_dropped.items())))


@step("select-locations-and-months")
def select_data(
    monthly: MonthlyTable,
    method: SelectionMethod,
    last_date: pd.Timestamp,
    rules: SelectionRules | None = None,
) -> Selection:
    """Choose the locations and months by the named method; an empty result is an error naming
    why."""
    if method == "article":
        selection = select_article(monthly)
    elif method == "auto":
        selection = select_auto(monthly, last_date, rules or SelectionRules())
    else:
        raise TempcastError(f"unknown selection {method!r} (choose auto or article)")
    if selection.table.empty or selection.table.shape[1] == 0:
        raise TempcastError(
            f"selection {method!r} keeps no data: {len(selection.locations_dropped)} locations"
            f" and {len(selection.months_dropped)} months dropped"
        )
    return selection
