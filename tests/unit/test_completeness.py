"""A month is complete when the locations that reported the month before reach its last day."""

import pandas as pd

from tasks.data.completeness import month_is_complete, newly_complete_month


def days(location: str, first: str, last: str, ingest: int = 1) -> pd.DataFrame:
    """Every day of a location from `first` to `last`, first written by `ingest`."""
    dates = pd.date_range(first, last, freq="D")
    return pd.DataFrame({"location": location, "date": dates, "first_ingest_id": ingest})


def test_every_location_that_reported_the_month_before_must_reach_the_last_day():
    may_june = pd.concat(
        [days("A", "2017-05-01", "2017-06-30"), days("B", "2017-05-01", "2017-06-29")]
    )
    june = pd.Period("2017-06", freq="M")
    assert not month_is_complete(may_june, june)
    assert month_is_complete(may_june, june, share=0.5)
    assert not month_is_complete(days("A", "2017-06-01", "2017-06-30"), june)  # no one before


def test_only_the_ingest_that_completes_the_month_reports_it():
    history = pd.concat(
        [days("A", "2017-05-01", "2017-05-31"), days("B", "2017-05-01", "2017-05-31")]
    )
    first = pd.concat([history, days("A", "2017-06-01", "2017-06-30", ingest=2)])
    assert newly_complete_month(first, ["2017-06"], [2]) is None  # B has not reported June yet
    both = pd.concat([first, days("B", "2017-06-01", "2017-06-30", ingest=3)])
    assert newly_complete_month(both, ["2017-06"], [3]) == "2017-06"
    late = pd.concat([both, days("C", "2017-06-01", "2017-06-30", ingest=4)])
    assert newly_complete_month(late, ["2017-06"], [4]) is None  # complete before: no new event


def test_a_history_loaded_at_once_completes_its_latest_complete_month_only():
    history = pd.concat([days(name, "2016-01-01", "2017-06-25") for name in ("A", "B")])
    months = [str(m) for m in pd.period_range("2016-01", "2017-06", freq="M")]
    assert newly_complete_month(history, months, [1]) == "2017-05"
