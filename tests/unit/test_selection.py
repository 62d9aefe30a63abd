"""Selection of locations and months: the article recipe and the auto rules, each drop explained."""

import numpy as np
import pandas as pd

from tasks.data.monthly import MonthlyTable
from tasks.data.months import month_range
from tasks.data.rules import SelectionRules
from tasks.data.selection import select_article, select_auto

MONTHS = month_range("2009-01", "2010-12")


def table(rows: dict[str, list[float]], months: list[str] = MONTHS) -> MonthlyTable:
    """A MonthlyTable from rows of values (NaN for missing)."""
    means = pd.DataFrame(rows, index=months).T
    means.index.name = "Location"
    return MonthlyTable(means=means, days=means.notna().astype(int) * 30)


def full(value: float = 10.0, months: list[str] = MONTHS) -> list[float]:
    """A complete series."""
    return [value] * len(months)


def with_gaps(positions: list[int], months: list[str] = MONTHS) -> list[float]:
    """A series missing the given positions."""
    values = full(months=months)
    for position in positions:
        values[position] = np.nan
    return values


def test_article_keeps_its_months_and_drops_its_locations():
    months = month_range("2008-11", "2017-02")
    monthly = table({"Canberra": full(months=months), "Uluru": full(months=months)}, months)
    selection = select_article(monthly)
    assert list(selection.table.index) == ["Canberra"]
    assert selection.table.columns[0] == "2009-01" and selection.table.columns[-1] == "2016-12"
    assert set(selection.months_dropped) == {"2008-11", "2008-12", "2017-01", "2017-02"}
    assert "article" in selection.locations_dropped["Uluru"]


def test_article_drops_a_location_that_cannot_be_filled():
    monthly = table({"Canberra": full(), "Newplace": with_gaps([0, 1])})
    selection = select_article(monthly)
    assert list(selection.table.index) == ["Canberra"]
    assert "cannot be filled" in selection.locations_dropped["Newplace"]


def test_auto_drops_the_incomplete_last_month():
    monthly = table({"A": full(), "B": full()})
    selection = select_auto(monthly, pd.Timestamp("2010-12-30"), SelectionRules())
    assert selection.table.columns[-1] == "2010-11"
    assert selection.months_dropped == {"2010-12": "incomplete: the data ends on 2010-12-30"}
    complete = select_auto(monthly, pd.Timestamp("2010-12-31"), SelectionRules())
    assert complete.table.columns[-1] == "2010-12" and complete.months_dropped == {}


def test_auto_trims_sparse_leading_and_trailing_months_but_keeps_interior_gaps():
    rows = {name: with_gaps([0, 1, 23]) for name in "ABC"}
    rows["D"] = with_gaps([5])
    rows["A"][5] = np.nan
    selection = select_auto(table(rows), pd.Timestamp("2010-12-31"), SelectionRules())
    assert list(selection.table.columns) == MONTHS[2:23]
    assert selection.months_dropped["2009-01"] == "sparse: 1 of 4 locations have data"
    assert set(selection.months_dropped) == {"2009-01", "2009-02", "2010-12"}
    assert "2009-06" in selection.table.columns


def test_auto_drops_locations_with_too_many_or_too_long_gaps_or_unfillable_edges():
    rules = SelectionRules(max_missing_share=0.2, max_gap_months=3)
    monthly = table(
        {
            "Good": with_gaps([3, 10]),
            "Long": with_gaps([5, 6, 7, 8]),
            "Many": with_gaps([2, 4, 6, 8, 10, 12]),
            "Edge": with_gaps([23]),
            "Other": full(),
        }
    )
    selection = select_auto(monthly, pd.Timestamp("2010-12-31"), rules)
    assert sorted(selection.table.index) == ["Good", "Other"]
    dropped = selection.locations_dropped
    assert dropped["Long"].startswith("gap too long: 4 months missing in 2009-06..2009-09")
    assert dropped["Many"].startswith("too many gaps: 6 of 24 months missing")
    assert dropped["Edge"].startswith("cannot be filled: no data for 2010-12")
