"""Small synthetic data for tests: observation files of seasonal daily temperatures per location,
and monthly series with a signal a forecaster can learn."""

from pathlib import Path

import numpy as np
import pandas as pd

from tasks.data.locations import LocationSeries
from tasks.data.months import month_range

HEADER = "Date,Location,MinTemp,MaxTemp"


def synthetic_observations(
    locations: tuple[str, ...] = ("Alpha", "Bravo"),
    start: str = "2009-01-01",
    end: str = "2014-12-31",
    seed: int = 0,
) -> pd.DataFrame:
    """Daily MinTemp/MaxTemp with a yearly cycle, a per-location offset and a little noise."""
    rng = np.random.default_rng(seed)
    dates = pd.date_range(start, end, freq="D")
    frames = []
    for number, location in enumerate(locations):
        season = 8 * np.cos(2 * np.pi * (dates.dayofyear.to_numpy() - 15) / 365.25)
        middle = 15 + 2 * number + season + rng.normal(0, 1.5, len(dates))
        spread = 5 + rng.uniform(0, 4, len(dates))
        frames.append(
            pd.DataFrame(
                {
                    "Date": dates.strftime("%Y-%m-%d"),
                    "Location": location,
                    "MinTemp": np.round(middle - spread, 1),
                    "MaxTemp": np.round(middle + spread, 1),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def write_observations(frame: pd.DataFrame, path: Path, **to_csv) -> Path:
    """Write observations as CSV (gzip when the name ends in .gz)."""
    frame.to_csv(path, index=False, **to_csv)
    return path


def write_lines(path: Path, *rows: str, header: str = HEADER) -> Path:
    """Write a CSV from literal lines, for hand-made edge cases."""
    path.write_text("\n".join([header, *rows]) + "\n", encoding="utf-8")
    return path


def persistent_anomalies(
    locations: int = 6, months: int = 96, memory: float = 0.85, shock: float = 0.7, seed: int = 0
) -> list[LocationSeries]:
    """Monthly series from 2001-01 with a learnable signal: each location's seasonal cycle (8 °C
    amplitude, its own level and phase) plus anomalies that persist (AR(1): each month keeps
    `memory` of the last one's and adds a shock of standard deviation `shock`) and a little
    noise. Climatology knows the cycle; only a forecaster that reads the recent months can
    forecast the anomaly's persistence."""
    rng = np.random.default_rng(seed)
    labels = month_range("2001-01", "2099-12")[:months]
    found = []
    for number in range(locations):
        anomaly = np.zeros(months)
        for month in range(1, months):
            anomaly[month] = memory * anomaly[month - 1] + rng.normal(0, shock)
        cycle = 8 * np.cos(2 * np.pi * (np.arange(months) - number % 3) / 12)
        values = 15 + number + cycle + anomaly + rng.normal(0, 0.2, months)
        found.append(LocationSeries(f"Station {number}", values, labels))
    return found
