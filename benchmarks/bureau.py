"""Bureau of Meteorology "Daily Weather Observations" files, for the tests and the replayed year
(benchmarks/replay.py): a station's month as the Bureau publishes it (a quoted preamble of
varying length, a blank line, a header whose first column is empty, ~21 columns, dates not
zero-padded), written as UTF-8 or Latin-1."""

from pathlib import Path

import pandas as pd

HOURLY = ("Temperature (°C)", "relative humidity (%)", "cloud amount (oktas)", "wind direction")
BUREAU_HEADER = [
    *("", "Date", "Minimum temperature (°C)", "Maximum temperature (°C)", "Rainfall (mm)"),
    *("Evaporation (mm)", "Sunshine (hours)", "Direction of maximum wind gust "),
    *("Speed of maximum wind gust (km/h)", "Time of maximum wind gust"),
    *(f"{hour} {name}" for hour in ("9am", "3pm") for name in (*HOURLY, "wind speed (km/h)")),
    *("9am MSL pressure (hPa)", "3pm MSL pressure (hPa)"),
]


def bureau_lines(
    station: str, state: str, month: str, rows: list[tuple[str, str, str]], notes: int = 0
) -> list[str]:
    """The lines of a Bureau file for `station` and `month` ('2017-07'): `rows` are (day,
    minimum, maximum) strings, `notes` extra station-note lines in the preamble."""
    title_month = pd.Period(month, freq="M").strftime("%B %Y")
    preamble = [
        f'"Daily Weather Observations for {station}, {state} for {title_month}"',
        '"Prepared at 13:04 UTC on 1 Aug 2017"',
        '"Copyright 2017 Bureau of Meteorology."',
        *(f'"Station note {n}: the thermometer was moved, 2004."' for n in range(notes)),
        f'"Observations were drawn from {station} {{station 018069}}"',
        "",
    ]
    header = ",".join(f'"{name}"' if name else "" for name in BUREAU_HEADER)
    filler = ["0", "1.8", "8.4", "NW", "44", "13:05", *["10"] * 12]
    data = [",".join(["", f"{month}-{day}", low, high, *filler]) for day, low, high in rows]
    return [*preamble, header, *data]


def write_bureau(path: Path, lines: list[str], encoding: str = "latin-1") -> Path:
    """Write the lines as the Bureau does (CRLF line ends), in `encoding`."""
    path.write_bytes("\r\n".join(lines).encode(encoding) + b"\r\n")
    return path


def bureau_month(
    folder: Path,
    station: str = "Coffs Harbour",
    month: str = "2017-07",
    days: int = 31,
    offset: float = 0.0,
    **options: object,
) -> Path:
    """A complete month of one station, every day observed, in a file named after both."""
    rows = [
        (str(day), f"{8 + offset + day / 10:.1f}", f"{18 + offset:.1f}")
        for day in range(1, days + 1)
    ]
    name = f"IDCJDW-{station.replace(' ', '')}-{month}.csv"
    return write_bureau(
        folder / name, bureau_lines(station, "New South Wales", month, rows, **options)
    )
