"""Per-location training data: each chosen location's series, its windows and its months."""

from dataclasses import dataclass

import numpy as np
import pandas as pd
from prefect import task
from prefect.cache_policies import NO_CACHE

from tasks.errors import TempcastError
from tasks.prepared import Prepared, table_digest
from tasks.windows import WindowSplit, split_windows


@dataclass(frozen=True)
class LocationData:
    """One location's complete monthly series and its out-of-time window split."""

    location: str
    series: np.ndarray
    months: list[str]
    split: WindowSplit

    @property
    def test_start(self) -> int:
        """Index of the first month of the test block (training uses only months before it)."""
        return int(self.split.test.starts[0])

    @property
    def forecast_origin(self) -> int:
        """Index of the first forecast month of the (last) test window."""
        return self.test_start + self.split.test.x.shape[1]

    @property
    def test_months(self) -> list[str]:
        """The months the test window forecasts."""
        return self.months[self.forecast_origin : self.forecast_origin + self.split.test.y.shape[1]]

    def training_frame(self) -> pd.DataFrame:
        """The months training may use (before the test block), as a two-column table."""
        return pd.DataFrame(
            {"month": self.months[: self.test_start], "temperature": self.series[: self.test_start]}
        )

    def training_digest(self) -> str:
        """A short content hash of the training months, to identify the training data."""
        return table_digest(self.training_frame().set_index("month").T)

    @property
    def as_of(self) -> str:
        """The last month of data used."""
        return self.months[-1]


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


def location_data(prepared: Prepared, location: str, timestep: int, horizon: int) -> LocationData:
    """Windows of one location; too few months is a TempcastError naming the location."""
    series = prepared.table.loc[location].to_numpy(dtype=np.float64)
    return LocationData(
        location=location,
        series=series,
        months=prepared.months,
        split=split_windows(series, timestep, horizon, location=location),
    )


def location_datasets(
    prepared: Prepared, locations: list[str], timestep: int, horizon: int
) -> tuple[dict[str, LocationData], dict[str, str]]:
    """Data for every location that has enough months, and the reason for each that has not."""
    data, failures = {}, {}
    for location in locations:
        try:
            data[location] = location_data(prepared, location, timestep, horizon)
        except TempcastError as error:
            failures[location] = str(error)
    return data, failures


@task(name="windows", cache_policy=NO_CACHE)
def windows(
    prepared: Prepared, locations: list[str], timestep: int, horizon: int
) -> tuple[dict[str, LocationData], dict[str, str]]:
    """Prefect task: build every chosen location's windows, reporting those with too few months."""
    return location_datasets(prepared, locations, timestep, horizon)
