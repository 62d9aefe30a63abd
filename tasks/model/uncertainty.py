"""Predictive distributions: quantiles of every forecast month and the chance that the month is
warmer than the median of its calendar month.

Calibrated only on forecasts that did not see their targets. At every past origin known at the
fit's origin (from CALIBRATION_MIN_MONTHS on), the smooth climatology (a mean and annual
harmonics) fit on the months before that origin forecasts the `horizon` months after it; each
error on a month known at the fit's origin, divided by its location's anomaly spread, is one
score, pooled across the locations fit together. Out-of-sample errors are larger than a fit's
own residuals and they drift (2012-2017 ran warm), so the width of the 80% central interval
starts at the 80% quantile of the first TRACKING_START_MONTHS target months' scores and then
follows the target months one by one: each month widens it by TRACKING_STEP times the share of
its scores that fell outside beyond the 20% allowed, and narrows it when fewer did (quantile
tracking, as in Angelopoulos, Candès and Tibshirani, "Conformal PID control", 2023). The other
intervals keep a Gaussian's proportions to it: tracking each level on its own adapts too slowly
in the tails (a 95% interval moves by at most 0.05 of a step when it covers), and on the
42-origin backtest its 95% interval covered 98%.

The distribution of a forecast month is symmetric around the point forecast, its widths scaled
by the location's anomaly spread; quantiles at any level come from one table of standardised
quantiles (`Spread.table`), which the registered model carries too, so that they never cross.
"""

from dataclasses import dataclass
from statistics import NormalDist

import numpy as np

from tasks.data.locations import LocationSeries
from tasks.model.climatology import harmonic_climatology

# The published quantiles: the seven levels the quantile score averages over, and the bounds of
# the 95% central interval.
LEVELS = (0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.975)
QUANTILE_COLUMNS = ("q025", "q05", "q10", "q25", "q50", "q75", "q90", "q95", "q975")
SCORED_LEVELS = (0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95)
COVERAGES = np.array([0.5, 0.8, 0.9, 0.95, 0.98])
TRACKING_STEP = 0.02
TRACKING_START_MONTHS = 12
CALIBRATION_MIN_MONTHS = 24
TABLE_LEVELS = np.arange(1, 1000) / 1000


@dataclass(frozen=True)
class Spread:
    """Standardised widths (half-widths, in anomaly spreads) of the central intervals at
    COVERAGES, and how they were calibrated."""

    widths: np.ndarray
    scores: int
    note: str

    def table(self) -> tuple[np.ndarray, np.ndarray]:
        """(levels, standardised quantiles) on a fine grid (0.001..0.999): linear between the
        calibrated widths, Gaussian-shaped beyond the widest one."""
        coverage = np.abs(2 * TABLE_LEVELS - 1)
        half = np.interp(coverage, np.r_[0.0, COVERAGES], np.r_[0.0, self.widths])
        beyond = coverage > COVERAGES[-1]
        normal = NormalDist()
        widest = normal.inv_cdf(0.5 + COVERAGES[-1] / 2)
        ratio = np.array([normal.inv_cdf(0.5 + c / 2) / widest for c in coverage[beyond]])
        half[beyond] = self.widths[-1] * ratio
        return TABLE_LEVELS, np.sign(TABLE_LEVELS - 0.5) * half


@dataclass(frozen=True)
class LocationSpread:
    """A location's anomaly spread (°C, around its smooth climatology over the known months),
    the median of each calendar month over the known months (Jan..Dec), and the share of known
    months warmer than their calendar month's median (what climatology says of the chance)."""

    scale: float
    medians: np.ndarray
    base_rate: float


@dataclass(frozen=True)
class Distribution:
    """The predictive distribution of forecast months: quantiles at LEVELS (months, levels), the
    chance of each month being warmer than its calendar month's median, those medians, and the
    climatological chance."""

    quantiles: np.ndarray
    p_above_median: np.ndarray
    medians: np.ndarray
    base_rate: float

    def columns(self) -> dict[str, np.ndarray]:
        """The quantile columns (q025..q975) and p_above_median, for a table of forecast months."""
        named = dict(zip(QUANTILE_COLUMNS, self.quantiles.T, strict=True))
        return {**named, "p_above_median": self.p_above_median}

    def beside(self, actual: np.ndarray) -> dict[str, np.ndarray | float]:
        """The columns, the calendar `median` each chance refers to, whether the month was
        warmer (`above_median`: 1 or 0, NaN where not observed) and climatology's chance
        (`base_rate`): what tasks.model.scores needs beside the actual values."""
        return {
            **self.columns(),
            "median": self.medians,
            "above_median": warmer_than(actual, self.medians),
            "base_rate": self.base_rate,
        }


def warmer_than(actual: np.ndarray, medians: np.ndarray) -> np.ndarray:
    """Whether each month was warmer than its calendar median: 1 or 0, NaN where not observed."""
    return np.where(np.isnan(actual), np.nan, actual > medians)


def calibration_scores(
    known: list[LocationSeries], horizon: int, harmonics: int, spreads: list[float]
) -> tuple[np.ndarray, np.ndarray]:
    """(target month index, |standardised error|) of the smooth climatology's out-of-sample
    forecasts from every past origin, for the months known (see the module's docstring)."""
    targets, scores = [], []
    for series, spread in zip(known, spreads, strict=True):
        months = len(series)
        calendar = series.calendar()
        for origin in range(CALIBRATION_MIN_MONTHS, months):
            levels = harmonic_climatology(series.values[:origin], calendar[:origin], harmonics)
            ahead = np.arange(origin, min(origin + horizon, months))
            targets.append(ahead)
            scores.append(np.abs(series.values[ahead] - levels[calendar[ahead]]) / spread)
    if not targets:
        return np.zeros(0, int), np.zeros(0)
    return np.concatenate(targets), np.concatenate(scores)


def gaussian_widths(width_80: float) -> np.ndarray:
    """The central intervals' widths at COVERAGES in a Gaussian's proportions to `width_80`."""
    normal = NormalDist()
    ratios = [normal.inv_cdf(0.5 + c / 2) / normal.inv_cdf(0.9) for c in COVERAGES]
    return width_80 * np.array(ratios)


def tracked_widths(targets: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """The central intervals' standardised widths: the 80% interval's started on the first
    target months' scores and tracked month by month, the others in proportion (see the
    module's docstring)."""
    first = targets.min()
    start = first + TRACKING_START_MONTHS
    initial = scores[targets < start]
    width = float(np.quantile(initial if len(initial) else scores, 0.8))
    for month in range(start, targets.max() + 1):
        arrived = scores[targets == month]
        if len(arrived):
            width = max(width + TRACKING_STEP * ((arrived > width).mean() - 0.2), 1e-3)
    return gaussian_widths(width)


def location_spread(series: LocationSeries, harmonics: int) -> LocationSpread:
    """A location's anomaly spread, calendar medians and base rate over its known months."""
    calendar = series.calendar()
    levels = harmonic_climatology(series.values, calendar, harmonics)
    scale = float(np.std(series.values - levels[calendar]))
    medians = np.array(
        [
            np.median(series.values[calendar == month]) if (calendar == month).any() else np.nan
            for month in range(12)
        ]
    )
    above = series.values > medians[calendar]
    return LocationSpread(scale if scale > 1e-6 else 1.0, medians, float(above.mean()))


def calibrate(known: list[LocationSeries], horizon: int, harmonics: int) -> tuple[Spread, dict]:
    """The group's spread (pooled, tracked widths) and each location's own constants, from the
    months known at the fit's origin."""
    locations = {s.location: location_spread(s, harmonics) for s in known}
    spreads = [locations[s.location].scale for s in known]
    targets, scores = calibration_scores(known, horizon, harmonics, spreads)
    if len(scores) == 0:
        widths = gaussian_widths(NormalDist().inv_cdf(0.9))
        note = (
            f"no out-of-sample forecast to calibrate on ({len(known[0])} months; origins start"
            f" at month {CALIBRATION_MIN_MONTHS + 1}): Gaussian widths of the anomaly spread"
        )
        return Spread(widths, 0, note), locations
    widths = tracked_widths(targets, scores)
    described = ", ".join(f"{c:.0%} ±{w:.2f}" for c, w in zip(COVERAGES, widths, strict=True))
    note = (
        f"intervals calibrated on {len(scores):,} out-of-sample forecast months of"
        f" {len(known)} location(s), tracked to {np.ptp(targets) + 1} target months:"
        f" {described} anomaly spreads"
    )
    return Spread(widths, len(scores), note), locations


def distribution(
    spread: Spread, location: LocationSpread, forecast: np.ndarray, calendar: np.ndarray
) -> Distribution:
    """The distribution of forecast months (°C point forecasts, their calendar months 0-11)."""
    levels, standard = spread.table()
    at_levels = np.interp(LEVELS, levels, standard)
    quantiles = forecast[:, None] + location.scale * at_levels[None, :]
    medians = location.medians[calendar]
    below = np.interp((medians - forecast) / location.scale, standard, levels)
    return Distribution(quantiles, 1 - below, medians, location.base_rate)
