"""Predictive distributions: calibrated on out-of-sample errors only, widths that follow errors
that drift, quantiles ordered and finite, the chance of a month above its calendar median."""

import numpy as np
import pytest

from tasks.data.locations import LocationSeries
from tasks.model.uncertainty import (
    CALIBRATION_MIN_MONTHS,
    LEVELS,
    TRACKING_START_MONTHS,
    calibrate,
    calibration_scores,
    distribution,
    gaussian_widths,
    tracked_widths,
)
from tests.support.tiny import prepared_table, series_of


def test_calibration_scores_forecasts_that_did_not_see_their_targets():
    (series,) = series_of(prepared_table(("Alpha",), months=48))
    targets, scores = calibration_scores([series], 6, 2, [1.0])
    # every origin from month 24 on forecasts up to 6 months, only months known (< 48)
    assert targets.min() == CALIBRATION_MIN_MONTHS and targets.max() == 47
    assert len(scores) == sum(min(6, 48 - origin) for origin in range(24, 48))
    # a jump in the last month shows in the errors of the forecasts of that month only: the
    # fits that forecast it never saw it, and no earlier month's error changes
    jumped = LocationSeries("Alpha", series.values + np.r_[np.zeros(47), 10.0], series.months)
    _, again = calibration_scores([jumped], 6, 2, [1.0])
    changed = targets[~np.isclose(scores, again)]
    assert set(changed) == {47} and (again[targets == 47] > scores[targets == 47] + 5).all()


def test_widths_follow_errors_that_drift():
    rng = np.random.default_rng(0)
    months = np.repeat(np.arange(60), 50)
    calm = np.abs(rng.normal(0, 1, len(months)))
    drifting = np.where(months >= TRACKING_START_MONTHS, calm * 2, calm)  # errors double
    start = gaussian_widths(np.quantile(calm[months < TRACKING_START_MONTHS], 0.8))
    steady, widened = tracked_widths(months, calm), tracked_widths(months, drifting)
    assert np.all(np.diff(widened) > 0) and np.all(np.diff(steady) > 0)
    np.testing.assert_allclose(steady, start, rtol=0.15)
    assert (widened > 1.15 * steady).all()  # every interval widened towards the new errors
    late = drifting[months >= 48][:, None]
    assert ((late > widened[None, :]).mean(axis=0) < (late > start[None, :]).mean(axis=0)).all()


@pytest.mark.parametrize("months", [20, 48, 90])
def test_quantiles_are_ordered_and_finite_and_the_chance_is_a_probability(months):
    series = series_of(prepared_table(("Alpha", "Bravo"), months=months))
    spread, locations = calibrate(series, 6, 2)
    forecast = np.array([10.0, 20.0, 30.0, 15.0, 25.0, 5.0])
    calendar = np.arange(6)
    result = distribution(spread, locations["Alpha"], forecast, calendar)
    assert result.quantiles.shape == (6, len(LEVELS)) and np.isfinite(result.quantiles).all()
    assert (np.diff(result.quantiles, axis=1) > 0).all()
    np.testing.assert_allclose(result.quantiles[:, LEVELS.index(0.5)], forecast)
    assert ((result.p_above_median > 0) & (result.p_above_median < 1)).all()
    # far above its calendar month's median: almost surely warmer; far below: almost surely not
    far = distribution(
        spread, locations["Alpha"], result.medians + np.r_[50, -50, 0, 0, 0, 0], calendar
    )
    assert far.p_above_median[0] > 0.99 and far.p_above_median[1] < 0.01
    assert far.p_above_median[2] == pytest.approx(0.5, abs=0.01)
    if months <= CALIBRATION_MIN_MONTHS:
        assert spread.scores == 0 and "no out-of-sample forecast" in spread.note
    else:
        assert spread.scores > 0 and "out-of-sample" in spread.note
