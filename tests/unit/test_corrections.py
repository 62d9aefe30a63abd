"""What a correction touches: the origins whose fit or scoring windows include a changed month,
the published forecasts made from it or scored against it, and the backfill that redoes them."""

from dataclasses import replace

import pandas as pd

from tasks.data.corrections import affected_by


def changed(*rows: tuple[str, str]) -> pd.DataFrame:
    """Changed rows (Location, day)."""
    return pd.DataFrame(
        {"Location": [row[0] for row in rows], "Date": pd.to_datetime([row[1] for row in rows])}
    )


def test_a_changed_month_touches_the_origins_that_fit_on_it_or_score_on_it():
    published = pd.DataFrame(
        {
            "location": ["Alpha"] * 4 + ["Bravo"],
            "as_of": ["2016-01", "2016-01", "2016-06", "2015-06", "2016-06"],
            "month": ["2016-05", "2016-06", "2016-07", "2015-07", "2016-07"],
        }
    )
    affected = affected_by(
        changed(("Alpha", "2016-06-03"), ("Alpha", "2016-06-04")),
        ("2009-01", "2017-05"),
        published,
        horizon=18,
        needed=36,
    )
    assert affected.months == {"Alpha": ["2016-06"]}
    assert (affected.origins[0], affected.origins[-1]) == ("2014-12", "2017-05")
    assert affected.published.values.tolist() == [["Alpha", "2016-01", 1], ["Alpha", "2016-06", 1]]
    assert affected.command() == "tempcast backfill --from 2014-12 --to 2017-05 --location Alpha"
    on_store = replace(affected, data="sqlite:///obs.db").command()
    assert (
        on_store
        == "tempcast backfill --data sqlite:///obs.db --from 2014-12 --to 2017-05 --location Alpha"
    )
    assert affected.lines()[0] == "Corrected months: Alpha 2016-06"


def test_no_origin_before_the_first_that_has_enough_months():
    affected = affected_by(
        changed(("Alpha", "2010-02-01")),
        ("2009-01", "2011-06"),
        pd.DataFrame(columns=["location", "as_of", "month"]),
        horizon=6,
        needed=12,
    )
    assert (affected.origins[0], affected.origins[-1]) == ("2009-12", "2011-06")
    assert affected.published.empty


def test_nothing_changed_touches_nothing():
    affected = affected_by(changed(), ("2009-01", "2011-06"), pd.DataFrame(), 6, 12)
    assert affected.lines() == [] and affected.command() is None
