"""The Bureau of Meteorology's per-station monthly "Daily Weather Observations" CSV files.

Such a file starts with a few quoted lines (a title naming the station, state and month, when
it was prepared, a copyright line, optional station notes, the station it was drawn from), a
blank line, then a header whose first column is empty: `,"Date","Minimum temperature (°C)",
"Maximum temperature (°C)",...`. Dates are not zero-padded (`2017-07-1`) and the file may be
Latin-1. Its rows become the raw columns of the Kaggle layout (Date, Location, MinTemp,
MaxTemp, untouched strings but for the dates' padding), so that they are validated by the same
contract with the same reasons.
"""

import csv
import gzip
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pandas as pd

from schemas.observations import is_station_name
from tasks.errors import TempcastError

Layout = Literal["kaggle", "bom"]
TITLE = re.compile(
    r'^\s*"?\s*Daily Weather Observations for (?P<station>[^,"]+),\s*(?P<state>[^"]*?)'
    r'\s+for\s+(?P<month>[A-Za-z]+\s+\d{4})\s*"?\s*$'
)
STATION_LINE = re.compile(r"Observations were drawn from .*\{station (?P<number>\d+)\}")
COLUMNS = {
    "Date": "Date",
    "Minimum temperature (°C)": "MinTemp",
    "Maximum temperature (°C)": "MaxTemp",
}
UNPADDED_DATE = re.compile(r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})\s*$")
SCANNED_BYTES = 4096


@dataclass(frozen=True)
class BomFile:
    """One Bureau file as read: its rows in the raw Kaggle columns, and where they come from."""

    rows: pd.DataFrame
    location: str
    station: str | None
    month: str


def decoded(data: bytes) -> str:
    """The file's text: UTF-8 (a byte-order mark dropped) when it is, else Latin-1."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def file_bytes(path: Path, limit: int | None = None) -> bytes:
    """The file's bytes (unzipped when it is gzip), the first `limit` of them when given."""
    with path.open("rb") as handle:
        zipped = handle.read(2) == b"\x1f\x8b"
    with (gzip.open if zipped else open)(path, "rb") as handle:
        return handle.read(limit) if limit else handle.read()


def file_layout(path: Path) -> Layout:
    """'bom' when the file's first line is a Bureau title, else 'kaggle' (whose reader names
    what is wrong with a file of neither layout)."""
    if not path.is_file():
        return "kaggle"  # the Kaggle reader says it is absent or not a file
    first = decoded(file_bytes(path, SCANNED_BYTES)).lstrip().split("\n", 1)[0]
    return "bom" if first.lstrip('" ').startswith("Daily Weather Observations") else "kaggle"


def location_from_title(path: Path, title: str) -> str:
    """The station name of the title without spaces (`Coffs Harbour` -> `CoffsHarbour`, the
    Kaggle spelling); a title that is not a Bureau title is an error naming the file."""
    match = TITLE.match(title)
    if match is None:
        raise TempcastError(
            f"data file {path}: first line {title.strip()[:80]!r} is not a Bureau title"
            " ('Daily Weather Observations for STATION, STATE for MONTH YEAR')"
        )
    return match["station"].replace(" ", "")


def header_index(path: Path, rows: list[list[str]]) -> int:
    """Where the header is: the first row whose first column is empty and second is Date."""
    for number, row in enumerate(rows):
        if len(row) > 1 and not row[0].strip() and row[1].strip() == "Date":
            return number
    raise TempcastError(
        f'data file {path}: no Bureau header line (an empty first column, then "Date",'
        ' "Minimum temperature (°C)", "Maximum temperature (°C)") after the title'
    )


def column_positions(path: Path, header: list[str]) -> dict[str, int]:
    """The position of each needed column in the header, by its Kaggle name; a missing one is
    an error naming it."""
    names = [name.strip() for name in header]
    for bureau_name in COLUMNS:
        if bureau_name not in names:
            raise TempcastError(
                f"data file {path}: Bureau header has no {bureau_name!r} column"
                f" (it has {', '.join(name for name in names if name)})"
            )
    return {kaggle: names.index(bureau) for bureau, kaggle in COLUMNS.items()}


def padded_date(text: str) -> str:
    """`2017-07-1` as `2017-07-01`; anything else as it is (validation judges it)."""
    match = UNPADDED_DATE.match(text)
    return f"{match[1]}-{int(match[2]):02d}-{int(match[3]):02d}" if match else text


def read_bom_file(path: Path, location: str | None = None) -> BomFile:
    """Read a Bureau file: its data rows as raw Date, Location, MinTemp, MaxTemp strings (a
    short row's absent values empty), the location from the title unless given, and the
    station number and month it names. A file that is not such a file, or a header without the
    temperature columns, is a TempcastError naming the file and the problem."""
    lines = decoded(file_bytes(path)).splitlines()
    rows = list(csv.reader(lines))
    name = location or location_from_title(path, lines[0] if lines else "")
    if not is_station_name(name):
        raise TempcastError(
            f"data file {path}: station {name!r} is not a plain station name; pass --location NAME"
        )
    start = header_index(path, rows)
    positions = column_positions(path, rows[start])
    data = [row for row in rows[start + 1 :] if any(value.strip() for value in row)]
    if not data:
        raise TempcastError(f"data file {path}: has a header but no data rows")
    frame = pd.DataFrame(
        {
            kaggle: [row[at] if at < len(row) else "" for row in data]
            for kaggle, at in positions.items()
        },
        dtype=str,
    )
    frame["Date"] = frame["Date"].map(padded_date)
    frame.insert(1, "Location", name)
    station = next((m["number"] for m in map(STATION_LINE.search, lines[:start]) if m), None)
    title = TITLE.match(lines[0])
    return BomFile(frame.astype(str), name, station, title["month"] if title else "")
