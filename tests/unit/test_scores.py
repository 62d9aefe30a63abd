"""The per-month scores of probabilistic forecasts against their textbook definitions, month by
month and in the months' order (twelve months: more than nine, so an order by name would show)."""

import numpy as np
import pytest

from tasks.model.scores import brier_scores, interval_scores, quantile_scores

RNG = np.random.default_rng(3)
ACTUAL = RNG.normal(15, 3, 12)
LEVELS = np.array([0.1, 0.5, 0.9])
QUANTILES = np.sort(RNG.normal(15, 3, (12, 3)), axis=1)


def pinball(actual: float, quantile: float, level: float) -> float:
    """The pinball loss of one quantile."""
    return max(level * (actual - quantile), (level - 1) * (actual - quantile))


def test_the_quantile_score_is_twice_the_mean_pinball_loss_of_each_month():
    expected = [
        2 * np.mean([pinball(a, q, level) for q, level in zip(row, LEVELS, strict=True)])
        for a, row in zip(ACTUAL, QUANTILES, strict=True)
    ]
    assert quantile_scores(ACTUAL, QUANTILES, LEVELS) == pytest.approx(expected, rel=1e-12)


def test_the_interval_score_is_the_width_plus_the_miss_over_half_alpha():
    lower, upper = QUANTILES[:, 0], QUANTILES[:, 2]
    miss = np.maximum(lower - ACTUAL, 0) + np.maximum(ACTUAL - upper, 0)
    expected = upper - lower + 2 / 0.2 * miss
    assert (miss > 0).any() and (miss == 0).any()  # both kinds of month are scored
    assert interval_scores(ACTUAL, lower, upper, 0.2) == pytest.approx(expected, rel=1e-12)
    with pytest.raises(ValueError, match=r"a 97.5% interval is not a whole level"):
        interval_scores(ACTUAL, lower, upper, 0.025)  # never scored as a 98% one


def test_the_brier_score_is_the_squared_miss_of_the_chance():
    chance = np.linspace(0.05, 0.95, 12)
    outcome = (ACTUAL > 15).astype(float)
    assert brier_scores(chance, outcome) == pytest.approx((chance - outcome) ** 2, rel=1e-12)
