"""Per-location scaling constants: a level for each calendar month and a spread.

With climatology scaling the level is the location's smooth seasonal cycle: a least-squares fit
of a mean and a few annual harmonics to every month known at the forecast origin.
"""

from dataclasses import dataclass

import numpy as np

from tasks.data.locations import LocationSeries
from tasks.model.settings import Scaling


@dataclass(frozen=True)
class Scaler:
    """A level for each calendar month (Jan..Dec) and a spread: "none" has levels 0 and spread 1;
    "standard" one level for every month (the mean); "climatology" the smooth seasonal cycle,
    with the spread of the anomalies around it."""

    levels: np.ndarray
    std: float

    @property
    def identity(self) -> bool:
        """True when scaling changes nothing."""
        return self.std == 1.0 and not self.levels.any()

    @property
    def seasonal(self) -> bool:
        """True when the level depends on the calendar month."""
        return bool(np.ptp(self.levels) > 0)

    def scale(self, values: np.ndarray, calendar: np.ndarray) -> np.ndarray:
        """°C to scaled units; `calendar` gives each value's calendar month (0 = January)."""
        return (values - self.levels[calendar]) / self.std

    def unscale(self, values: np.ndarray, calendar: np.ndarray) -> np.ndarray:
        """Scaled units back to °C."""
        return values * self.std + self.levels[calendar]


IDENTITY = Scaler(levels=np.zeros(12), std=1.0)


def harmonic_climatology(values: np.ndarray, calendar: np.ndarray, harmonics: int) -> np.ndarray:
    """Least-squares fit of a mean and `harmonics` annual harmonics, valued per calendar month."""

    def design(months: np.ndarray) -> np.ndarray:
        angle = 2 * np.pi * months[:, None] * np.arange(1, harmonics + 1) / 12
        return np.hstack([np.ones((len(months), 1)), np.cos(angle), np.sin(angle)])

    coefficients = np.linalg.lstsq(design(calendar.astype(float)), values, rcond=None)[0]
    return design(np.arange(12.0)) @ coefficients


def fit_scaler(series: LocationSeries, scaling: Scaling, harmonics: int = 2) -> Scaler:
    """The scaling constants of one location from its months: nothing for 'none', mean and spread
    for 'standard', the smooth climatology and the spread of the anomalies for 'climatology'."""
    if scaling == "none":
        return IDENTITY
    calendar = series.calendar()
    if scaling == "standard":
        levels = np.full(12, float(np.mean(series.values)))
    else:
        levels = harmonic_climatology(series.values, calendar, harmonics)
    std = float(np.std(series.values - levels[calendar]))
    return Scaler(levels=levels, std=std if std > 1e-6 else 1.0)
