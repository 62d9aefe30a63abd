"""The replayed year's data (benchmarks/replay.py): the real file cut into the history up to
2016-05 (the Kaggle layout) and monthly drops from 2016-06, one Bureau file per station and month
(the stations' names as the Bureau writes them in its titles)."""

import re
from pathlib import Path

import pandas as pd

from benchmarks.bureau import bureau_lines, write_bureau

HISTORY_END, FIRST_DROP = "2016-05", "2016-06"
SPARSE = ("Dartmoor", "Katherine", "Melbourne", "Nhil", "Uluru")  # dropped by every recipe


def station_title(location: str) -> str:
    """The Bureau's spelling of a Kaggle location in a title: `CoffsHarbour` -> `Coffs Harbour`
    (the ingest takes the title's name without spaces, hence the same location)."""
    return re.sub(r"(?<=[a-z])(?=[A-Z])", " ", location)


def read_real(path: Path, stations: int) -> pd.DataFrame:
    """Date, Location, MinTemp, MaxTemp of the first `stations` locations of the real file (in
    name order, the sparse ones left out) up to the end of 2017-05."""
    frame = pd.read_csv(path, usecols=["Date", "Location", "MinTemp", "MaxTemp"])
    frame["Date"] = pd.to_datetime(frame["Date"])
    names = sorted(set(frame["Location"]) - set(SPARSE))[:stations]
    kept = frame["Location"].isin(names) & (frame["Date"] < "2017-06-01")
    return frame[kept].reset_index(drop=True)


def write_history(frame: pd.DataFrame, folder: Path) -> Path:
    """The rows up to HISTORY_END in the Kaggle layout."""
    history = frame[frame["Date"] < pd.Period(FIRST_DROP, freq="M").start_time]
    path = folder / "history.csv"
    history.assign(Date=history["Date"].dt.strftime("%Y-%m-%d")).to_csv(path, index=False)
    return path


def number(value: float) -> str:
    """A temperature as the Bureau writes it (empty where missing)."""
    return "" if pd.isna(value) else f"{value:.1f}"


def bureau_files(frame: pd.DataFrame, month: str, folder: Path, shift: float = 0.0) -> list[Path]:
    """One Bureau file per location of `frame` with days in `month` (values + `shift`)."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = frame[frame["Date"].dt.to_period("M") == pd.Period(month, freq="M")]
    paths = []
    for location, days in rows.groupby("Location"):
        lines = [
            (str(day.Date.day), number(day.MinTemp + shift), number(day.MaxTemp + shift))
            for day in days.itertuples()
        ]
        title = station_title(str(location))
        path = folder / f"IDCJDW-{location}-{month}.csv"
        paths.append(write_bureau(path, bureau_lines(title, "Australia", month, lines)))
    return paths
