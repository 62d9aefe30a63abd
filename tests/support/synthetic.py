"""Small synthetic observation files for tests: seasonal daily temperatures per location."""

from pathlib import Path

import numpy as np
import pandas as pd

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
