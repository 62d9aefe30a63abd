"""Peers of the backtest: predictive distributions of simple forecasters, each fit on the months
known at a forecast origin, in the form tempcast publishes its own.

- `auto_ets`: statsforecast's AutoETS (season 12) with its own intervals (`level=[50, 80, 90,
  95]` give the quantiles at LEVELS); other levels and the chance above the median from its
  Gaussian (the mean, and a sigma from the width of the 80% interval);
- `harmonic_conformal`: the two-harmonic regression with symmetric intervals from the
  empirical quantiles of its own absolute out-of-sample errors (at every past origin from month
  CALIBRATION_MIN_MONTHS on, fit on the months before it, 18 months ahead, pooled over leads);
- `climatology_gaussian`: each calendar month's mean and standard deviation over the known
  months;
- `harmonic_gaussian`: the simple peer of DESIGN.md, a Gaussian around the two-harmonic
  regression with the station's in-sample anomaly spread.

Every distribution gives the quantile columns at LEVELS (q025..q975), the dense quantiles at
DENSE_LEVELS (1%..99%, for the quantile score over those levels) and `p_above_median`.
"""

from dataclasses import dataclass, field
from statistics import NormalDist
from typing import Protocol

import numpy as np
import pandas as pd

from tasks.data.locations import LocationSeries
from tasks.model.climatology import harmonic_climatology
from tasks.model.uncertainty import LEVELS, QUANTILE_COLUMNS, calibration_scores

HARMONICS = 2
ETS_LEVELS = (50, 80, 90, 95)
DENSE_LEVELS = np.arange(1, 100) / 100
DENSE_COLUMNS = [f"l{round(level * 100):02d}" for level in DENSE_LEVELS]
NORMAL = NormalDist()


def normal_ppf(levels: np.ndarray) -> np.ndarray:
    """Standard normal quantiles at the levels."""
    return np.array([NORMAL.inv_cdf(float(level)) for level in levels])


def normal_cdf(values: np.ndarray) -> np.ndarray:
    """Standard normal distribution function, element-wise."""
    from scipy.special import ndtr

    return np.asarray(ndtr(values))


class Predictive(Protocol):
    """A predictive distribution of consecutive forecast months."""

    @property
    def point(self) -> np.ndarray:
        """The point forecast of each month (°C)."""
        ...

    def quantiles(self, levels: np.ndarray) -> np.ndarray:
        """Quantiles (months, levels), never crossing."""
        ...

    def p_above(self, medians: np.ndarray) -> np.ndarray:
        """The chance that each month is warmer than its median."""
        ...


@dataclass(frozen=True)
class Gaussian:
    """A Gaussian per month; `published` overrides the quantiles at some levels (level ->
    values) with the forecaster's own, as AutoETS publishes its intervals."""

    mean: np.ndarray
    sigma: np.ndarray
    published: dict[float, np.ndarray] = field(default_factory=dict)

    @property
    def point(self) -> np.ndarray:
        """The mean."""
        return self.mean

    def quantiles(self, levels: np.ndarray) -> np.ndarray:
        """The Gaussian's quantiles, or the published ones at their levels."""
        result = self.mean[:, None] + self.sigma[:, None] * normal_ppf(levels)[None, :]
        for column, level in enumerate(levels):
            published = self.published.get(round(float(level), 4))
            if published is not None:
                result[:, column] = published
        return result

    def p_above(self, medians: np.ndarray) -> np.ndarray:
        """1 - the Gaussian's distribution function at the medians."""
        return 1 - normal_cdf((medians - self.mean) / self.sigma)


@dataclass(frozen=True)
class Symmetric:
    """The point forecast plus or minus an absolute error drawn from `errors` (empirical)."""

    point: np.ndarray
    errors: np.ndarray

    def quantiles(self, levels: np.ndarray) -> np.ndarray:
        """Symmetric quantiles: the central interval of coverage c is ± the c-quantile of the
        absolute errors."""
        levels = np.asarray(levels, float)
        half = np.quantile(self.errors, np.abs(2 * levels - 1))
        return self.point[:, None] + (np.sign(levels - 0.5) * half)[None, :]

    def p_above(self, medians: np.ndarray) -> np.ndarray:
        """The share of the errors, taken with either sign, that put the month above its
        median."""
        signed = np.r_[self.errors, -self.errors]
        return (self.point[:, None] + signed[None, :] > medians[:, None]).mean(axis=1)


def ets_distribution(values: np.ndarray, horizon: int) -> Gaussian:
    """AutoETS (season 12) fit on the known months, with its own intervals at ETS_LEVELS."""
    from statsforecast.models import AutoETS

    forecast = AutoETS(season_length=12).fit(values).predict(h=horizon, level=list(ETS_LEVELS))
    published = {0.5: forecast["mean"]}
    for level in ETS_LEVELS:
        tail = round((100 - level) / 200, 4)
        published[tail] = forecast[f"lo-{level}"]
        published[round(1 - tail, 4)] = forecast[f"hi-{level}"]
    sigma = (forecast["hi-80"] - forecast["lo-80"]) / (2 * NORMAL.inv_cdf(0.9))
    return Gaussian(forecast["mean"], np.maximum(sigma, 1e-6), published)


def harmonic_levels(series: LocationSeries) -> np.ndarray:
    """The two-harmonic regression fit on every known month, valued per calendar month."""
    return harmonic_climatology(series.values, series.calendar(), HARMONICS)


def conformal_distribution(series: LocationSeries, ahead: np.ndarray, horizon: int) -> Symmetric:
    """The two-harmonic regression with its own rolling out-of-sample absolute errors (its
    in-sample residuals while no past origin has one)."""
    point = harmonic_levels(series)[ahead]
    _, errors = calibration_scores([series], horizon, HARMONICS, [1.0])
    if len(errors) == 0:
        errors = np.abs(series.values - harmonic_levels(series)[series.calendar()])
    return Symmetric(point, errors)


def climatology_distribution(series: LocationSeries, ahead: np.ndarray) -> Gaussian:
    """Each calendar month's mean and standard deviation over the known months."""
    frame = pd.DataFrame({"value": series.values, "month": series.calendar()})
    stats = frame.groupby("month")["value"].agg(["mean", "std"]).reindex(range(12))
    sigma = stats["std"].fillna(stats["std"].mean()).to_numpy(float)
    return Gaussian(stats["mean"].to_numpy(float)[ahead], np.maximum(sigma[ahead], 1e-6))


def harmonic_gaussian(series: LocationSeries, ahead: np.ndarray) -> Gaussian:
    """A Gaussian around the two-harmonic regression with the in-sample anomaly spread."""
    levels = harmonic_levels(series)
    spread = float(np.std(series.values - levels[series.calendar()]))
    return Gaussian(levels[ahead], np.full(len(ahead), max(spread, 1e-6)))


def peer_distributions(series: LocationSeries, horizon: int) -> dict[str, Predictive]:
    """Every peer's distribution of the `horizon` months after the series (all it knows)."""
    ahead = series.calendar(len(series) + horizon)[len(series) :]
    return {
        "auto_ets": ets_distribution(series.values, horizon),
        "harmonic_conformal": conformal_distribution(series, ahead, horizon),
        "climatology_gaussian": climatology_distribution(series, ahead),
        "harmonic_gaussian": harmonic_gaussian(series, ahead),
    }


def distribution_columns(predictive: Predictive, medians: np.ndarray) -> dict[str, np.ndarray]:
    """The columns of a distribution in a table of forecast months: `point`, the quantile
    columns, the dense quantiles and `p_above_median`."""
    published = dict(zip(QUANTILE_COLUMNS, predictive.quantiles(np.array(LEVELS)).T, strict=True))
    dense = dict(zip(DENSE_COLUMNS, predictive.quantiles(DENSE_LEVELS).T, strict=True))
    return {
        "point": predictive.point,
        **published,
        **dense,
        "p_above_median": predictive.p_above(medians),
    }
