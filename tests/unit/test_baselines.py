"""Baselines and metrics on tiny series with known answers."""

import numpy as np
import pytest

from tasks.data.months import calendar_months
from tasks.model.baselines import (
    climatology_forecast,
    error_metrics,
    seasonal_naive_forecast,
)


def test_calendar_months_wrap_around_the_year():
    assert calendar_months("2009-11", 4).tolist() == [10, 11, 0, 1]


def test_climatology_is_the_mean_of_each_calendar_month_over_the_known_months():
    history = np.arange(30, dtype=float)  # Jan 2009 .. Jun 2011
    months = calendar_months("2009-01", 30)
    targets = calendar_months("2011-07", 3)  # Jul, Aug, Sep: seen in 2009 and 2010
    assert climatology_forecast(history, months, targets).tolist() == [12.0, 13.0, 14.0]
    january = climatology_forecast(history, months, np.array([0]))
    assert january.tolist() == [12.0]  # (0 + 12 + 24) / 3


def test_seasonal_naive_goes_back_a_further_year_inside_the_horizon():
    history = np.arange(24, dtype=float)
    forecast = seasonal_naive_forecast(history, 18)
    assert forecast[:12].tolist() == list(range(12, 24))
    assert forecast[12:].tolist() == list(range(12, 18))


def test_seasonal_naive_needs_a_year_of_history():
    with pytest.raises(ValueError, match="at least 12"):
        seasonal_naive_forecast(np.zeros(6), 3)


def test_error_metrics():
    metrics = error_metrics(np.array([1.0, 2.0, 3.0]), np.array([2.0, 2.0, 1.0]))
    assert metrics == pytest.approx({"mae": 1.0, "mse": 5 / 3, "rmse": np.sqrt(5 / 3)})
