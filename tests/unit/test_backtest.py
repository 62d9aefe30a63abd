"""Backtest rows and summaries on tiny series with known answers; range expansion."""

import numpy as np
import pandas as pd
import pytest

from tasks.data.locations import LocationSeries
from tasks.data.months import expand_range, month_range
from tasks.errors import TempcastError
from tasks.model.backtests import backtest_rows, overall, rescored, summarise
from tasks.model.uncertainty import LEVELS, Distribution


def spread_around(forecast: np.ndarray, medians: np.ndarray) -> Distribution:
    """A hand-made distribution: quantiles at the forecast plus (level - 0.5) * 4 °C, a chance
    of 0.75 above the median everywhere, climatology's chance 0.5."""
    offsets = (np.array(LEVELS) - 0.5) * 4
    quantiles = forecast[:, None] + offsets[None, :]
    return Distribution(quantiles, np.full(len(forecast), 0.75), medians, 0.5)


def test_range_expansion_is_inclusive_and_ordered():
    assert expand_range("2015-11", "2016-02") == ["2015-11", "2015-12", "2016-01", "2016-02"]
    assert expand_range("2016-01", "2016-01") == ["2016-01"]
    with pytest.raises(TempcastError, match="wrong order: 2016-03 is after 2016-01"):
        expand_range("2016-03", "2016-01")
    with pytest.raises(TempcastError, match="--from '2016-1' is not a month"):
        expand_range("2016-1", "2016-03")


def test_backtest_rows_with_known_answers():
    months = month_range("2010-01", "2011-12")  # 24 months, value = month index
    history = np.arange(24, dtype=float)
    truth = pd.DataFrame(
        [np.arange(27, dtype=float)], index=["A"], columns=month_range("2010-01", "2012-03")
    )
    series = LocationSeries("A", history, months)
    forecast = np.array([30.0, 20.0, 26.0, 1.0])
    medians = np.array([20.0, 30.0, 20.0, 20.0])
    rows = backtest_rows(series, "2011-12", forecast, truth, spread_around(forecast, medians))

    assert rows["month"].tolist() == ["2012-01", "2012-02", "2012-03", "2012-04"]
    assert rows["step"].tolist() == [1, 2, 3, 4]
    assert rows["actual"].tolist()[:3] == [24.0, 25.0, 26.0] and np.isnan(rows["actual"].iloc[3])
    assert rows["abs_error"].tolist()[:3] == [6.0, 5.0, 0.0]
    assert rows["baseline_climatology"].tolist() == [
        6.0,
        7.0,
        8.0,
        9.0,
    ]  # mean of Jan 2010, Jan 2011...
    assert rows["baseline_seasonal_naive"].tolist() == [12.0, 13.0, 14.0, 15.0]
    assert set(rows["as_of"]) == {"2011-12"}

    by_step = summarise(rows, "step")
    assert by_step["step"].tolist() == [1, 2, 3]  # step 4 has no actual value yet
    assert by_step["mae"].tolist() == [6.0, 5.0, 0.0]
    assert by_step["baseline_climatology_mae"].tolist() == [18.0, 18.0, 18.0]
    assert overall(rows)["backtest_mae"] == pytest.approx(11 / 3)
    assert overall(rows)["backtest_months_scored"] == 3
    # 80% interval: forecast ± 1.6 °C covers only 2012-03 (26 in 24.4..27.6)
    assert rows["q10"].tolist()[:3] == pytest.approx([28.4, 18.4, 24.4])
    assert overall(rows)["backtest_coverage_80"] == pytest.approx(1 / 3)
    assert rows["above_median"].tolist()[:3] == [1.0, 0.0, 1.0] and np.isnan(
        rows["above_median"][3]
    )
    # Brier: (0.75 - 1)², (0.75 - 0)², (0.75 - 1)²; climatology always 0.25
    assert overall(rows)["backtest_brier"] == pytest.approx((0.0625 + 0.5625 + 0.0625) / 3)
    assert overall(rows)["backtest_brier_climatology"] == pytest.approx(0.25)
    assert by_step["coverage_80"].tolist() == [0.0, 0.0, 1.0]


def test_an_as_of_whose_own_month_has_no_data_forecasts_from_the_month_before():
    months = month_range("2010-01", "2011-11")  # the data as of 2011-12 ends a month early
    truth = pd.DataFrame([np.arange(27.0)], index=["A"], columns=month_range("2010-01", "2012-03"))
    series = LocationSeries("A", np.arange(23.0), months)
    forecast = np.array([1.0, 2.0])
    rows = backtest_rows(series, "2011-12", forecast, truth, spread_around(forecast, forecast))
    assert rows["month"].tolist() == ["2011-12", "2012-01"] and set(rows["as_of"]) == {"2011-12"}
    assert rows["step"].tolist() == [1, 2]


def test_reused_rows_are_scored_against_the_truth_as_it_is_now():
    months = month_range("2010-01", "2011-12")
    truth = pd.DataFrame(
        [np.arange(27, dtype=float)], index=["A"], columns=month_range("2010-01", "2012-03")
    )
    forecast, medians = np.array([30.0, 20.0, 26.0, 1.0]), np.array([20.0, 30.0, 20.0, 20.0])
    series = LocationSeries("A", np.arange(24, dtype=float), months)
    rows = backtest_rows(series, "2011-12", forecast, truth, spread_around(forecast, medians))
    pd.testing.assert_frame_equal(rescored(rows, truth), rows)  # nothing changed: the same
    corrected = truth.copy()
    corrected.loc["A", "2012-02"] = 35.0  # was 25
    again = rescored(rows, corrected)
    assert list(again["actual"][:3]) == [24.0, 35.0, 26.0] and np.isnan(again["actual"][3])
    assert list(again["abs_error"][:3]) == [6.0, 15.0, 0.0]
    assert list(again["above_median"][:3]) == [1.0, 1.0, 1.0] and np.isnan(again["above_median"][3])
    assert list(again["forecast"]) == list(rows["forecast"])
