"""Per-location series: each chosen location's complete monthly values and their months."""

from dataclasses import dataclass

import numpy as np
import pandas as pd

from tasks.data.months import calendar_months
from tasks.data.prepared import Prepared, table_digest
from tasks.errors import TempcastError


@dataclass(frozen=True)
class LocationSeries:
    """One location's complete monthly series (°C) and its months ('YYYY-MM', consecutive)."""

    location: str
    values: np.ndarray
    months: list[str]

    def __len__(self) -> int:
        return len(self.values)

    def until(self, end: int) -> "LocationSeries":
        """The first `end` months: what was known at that forecast origin."""
        return LocationSeries(self.location, self.values[:end], self.months[:end])

    def calendar(self, count: int | None = None) -> np.ndarray:
        """Calendar months (0 = January) of `count` consecutive months from the first one (default:
        the series' own months; more reach past its end)."""
        return calendar_months(self.months[0], len(self) if count is None else count)

    def frame(self) -> pd.DataFrame:
        """The series as a two-column table (month, temperature)."""
        return pd.DataFrame({"month": self.months, "temperature": self.values})

    def digest(self) -> str:
        """A short content hash of the series, to identify training data."""
        return table_digest(self.frame().set_index("month").T)


def choose_locations(available: list[str], requested: list[str] | None) -> list[str]:
    """The requested locations (any letter case), or all when none are named.

    An unknown name is an error that lists the valid ones.
    """
    if not requested:
        return list(available)
    by_key = {name.lower(): name for name in available}
    unknown = [name for name in requested if name.lower() not in by_key]
    if unknown:
        raise TempcastError(
            f"unknown location {unknown[0]!r}; valid locations: {', '.join(sorted(available))}"
        )
    return list(dict.fromkeys(by_key[name.lower()] for name in requested))


def location_series(prepared: Prepared, locations: list[str]) -> dict[str, LocationSeries]:
    """Each chosen location's series from the prepared table."""
    return {
        name: LocationSeries(name, prepared.table.loc[name].to_numpy(np.float64), prepared.months)
        for name in locations
    }
