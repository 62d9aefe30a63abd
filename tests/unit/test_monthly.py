"""Monthly means: midpoint of Min and Max, mean per location and month, every month a column."""

import numpy as np
import pandas as pd
import pytest

from tasks.data.monthly import build_monthly_table, cut_observations


def observations(rows: list[tuple[str, str, float, float]]) -> pd.DataFrame:
    """Typed observations from (date, location, min, max) tuples."""
    frame = pd.DataFrame(rows, columns=["Date", "Location", "MinTemp", "MaxTemp"])
    return frame.assign(Date=pd.to_datetime(frame["Date"]), Location=frame["Location"].astype(str))


def test_monthly_mean_of_the_midpoints_with_absent_months_as_nan_columns():
    table = build_monthly_table.fn(
        observations(
            [
                ("2010-01-01", "A", 10.0, 20.0),
                ("2010-01-02", "A", 12.0, 14.0),
                ("2010-03-05", "A", 0.0, 1.0),
                ("2010-01-09", "B", -2.0, 4.0),
            ]
        )
    )
    assert list(table.means.columns) == ["2010-01", "2010-02", "2010-03"]
    assert table.means.index.name == "Location"
    assert table.means.loc["A", "2010-01"] == pytest.approx((15.0 + 13.0) / 2)
    assert np.isnan(table.means.loc["A", "2010-02"])
    assert table.means.loc["A", "2010-03"] == pytest.approx(0.5)
    assert table.means.loc["B", "2010-01"] == pytest.approx(1.0)
    assert table.days.loc["A"].tolist() == [2, 0, 1]


def test_cut_keeps_every_observation_up_to_the_last_day_of_as_of():
    frame = observations(
        [("2010-01-31", "A", 1.0, 2.0), ("2010-02-01", "A", 1.0, 2.0), ("2010-02-28", "A", 1, 2)]
    )
    assert len(cut_observations(frame, pd.Period("2010-01", freq="M"))) == 1
    assert len(cut_observations(frame, pd.Period("2010-02", freq="M"))) == 3
    assert len(cut_observations(frame, None)) == 3
