"""Contracts for daily observations: the rows as parsed from the file, and the rows accepted.

`ParsedObservations` is validated lazily, so that one pass finds every bad row; the name of each
failed check is the rejection reason reported for that row. `Observations` is the contract that
every later step relies on: real dates, plain station names, finite temperatures in range,
MinTemp <= MaxTemp, one row per Date and Location.
"""

import re

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera.typing import Series

TEMPERATURE_COLUMNS = ("MinTemp", "MaxTemp")
TEMPERATURE_RANGE = (-30.0, 60.0)
KEY_COLUMNS = ["Date", "Location"]
VALUE_COLUMNS = ["Date", "Location", "MinTemp", "MaxTemp"]
MAX_LOCATION_LENGTH = 64
LOCATION_PATTERN = re.compile(r"[A-Za-z0-9]+(?:[ -][A-Za-z0-9]+)*")
REJECTION_REASONS = (
    "invalid_date",
    "invalid_location",
    "not_finite:MinTemp",
    "not_finite:MaxTemp",
    "out_of_range:MinTemp",
    "out_of_range:MaxTemp",
    "min_above_max",
    "duplicate",
    "conflicting_duplicate",
)


def missing_flag(column: str) -> str:
    """Name of the boolean column that marks an empty/NA value of a temperature column."""
    return f"{column}_missing"


def is_station_name(name: str) -> bool:
    """True for a plain station name: letters, digits, single spaces or hyphens between them.

    Anything else (slashes, dots, quotes, control characters, leading spaces) could act as a path
    or alter a registry or run name, so it is refused.
    """
    return len(name) <= MAX_LOCATION_LENGTH and LOCATION_PATTERN.fullmatch(name) is not None


def location_is_valid(locations: pd.Series) -> pd.Series:
    """Row-wise `is_station_name`, evaluated once per distinct name (there are only a few dozen)."""
    valid_names = [name for name in locations.unique() if is_station_name(name)]
    return locations.isin(valid_names)


def temperature_is_finite(frame: pd.DataFrame, column: str) -> pd.Series:
    """True where the temperature is either missing (empty/NA) or a finite number."""
    return frame[missing_flag(column)] | np.isfinite(frame[column])


def temperature_in_range(frame: pd.DataFrame, column: str) -> pd.Series:
    """True where a finite temperature lies in TEMPERATURE_RANGE (non-finite ones pass here)."""
    values = frame[column]
    return ~np.isfinite(values) | values.between(*TEMPERATURE_RANGE)


def min_not_above_max(frame: pd.DataFrame) -> pd.Series:
    """True unless both temperatures are present and MinTemp > MaxTemp."""
    return ~(frame["MinTemp"] > frame["MaxTemp"])


def row_is_valid(frame: pd.DataFrame) -> pd.Series:
    """True where a row passes every row-level rule (the duplicate rules compare only such rows)."""
    valid = frame["Date"].notna() & location_is_valid(frame["Location"]) & min_not_above_max(frame)
    for column in TEMPERATURE_COLUMNS:
        valid &= temperature_is_finite(frame, column) & temperature_in_range(frame, column)
    return valid


def duplicate_status(frame: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Mark extra exact copies and conflicting rows among the rows that are otherwise valid.

    Returns (extra_copy, conflicting), both aligned to `frame`. A Date and Location seen with more
    than one set of values is conflicting in every row that has it, since no one can tell which is
    right; otherwise every copy after the first is an extra copy.
    """
    valid_rows = frame.loc[row_is_valid(frame), VALUE_COLUMNS]
    distinct = valid_rows.drop_duplicates()
    conflicting_keys = distinct.loc[distinct.duplicated(KEY_COLUMNS, keep=False), KEY_COLUMNS]
    row_keys = pd.MultiIndex.from_frame(valid_rows[KEY_COLUMNS])
    conflicting = pd.Series(
        row_keys.isin(pd.MultiIndex.from_frame(conflicting_keys)), index=valid_rows.index
    )
    extra_copy = valid_rows.duplicated(keep="first") & ~conflicting
    return (
        extra_copy.reindex(frame.index, fill_value=False),
        conflicting.reindex(frame.index, fill_value=False),
    )


class ParsedObservations(pa.DataFrameModel):
    """Rows as parsed from the file: NaT/NaN where a value could not be read, flags for empty/NA."""

    line: Series[int]
    Date: Series[pd.Timestamp] = pa.Field(nullable=True)
    Location: Series[str]
    MinTemp: Series[float] = pa.Field(nullable=True)
    MaxTemp: Series[float] = pa.Field(nullable=True)
    MinTemp_missing: Series[bool]
    MaxTemp_missing: Series[bool]

    @pa.check("Date", name="invalid_date", ignore_na=False)
    def _real_calendar_date(cls, dates: Series[pd.Timestamp]) -> Series[bool]:
        return dates.notna()

    @pa.check("Location", name="invalid_location", ignore_na=False)
    def _plain_station_name(cls, locations: Series[str]) -> Series[bool]:
        return location_is_valid(locations)

    @pa.dataframe_check(name="not_finite:MinTemp", ignore_na=False)
    def _min_finite(cls, frame: pd.DataFrame) -> Series[bool]:
        return temperature_is_finite(frame, "MinTemp")

    @pa.dataframe_check(name="not_finite:MaxTemp", ignore_na=False)
    def _max_finite(cls, frame: pd.DataFrame) -> Series[bool]:
        return temperature_is_finite(frame, "MaxTemp")

    @pa.dataframe_check(name="out_of_range:MinTemp", ignore_na=False)
    def _min_in_range(cls, frame: pd.DataFrame) -> Series[bool]:
        return temperature_in_range(frame, "MinTemp")

    @pa.dataframe_check(name="out_of_range:MaxTemp", ignore_na=False)
    def _max_in_range(cls, frame: pd.DataFrame) -> Series[bool]:
        return temperature_in_range(frame, "MaxTemp")

    @pa.dataframe_check(name="min_above_max", ignore_na=False)
    def _min_not_above_max(cls, frame: pd.DataFrame) -> Series[bool]:
        return min_not_above_max(frame)

    @pa.dataframe_check(name="duplicate", ignore_na=False)
    def _not_extra_copy(cls, frame: pd.DataFrame) -> Series[bool]:
        return ~duplicate_status(frame)[0]

    @pa.dataframe_check(name="conflicting_duplicate", ignore_na=False)
    def _not_conflicting(cls, frame: pd.DataFrame) -> Series[bool]:
        return ~duplicate_status(frame)[1]


class Observations(pa.DataFrameModel):
    """Accepted daily observations: the input contract of the monthly step."""

    Date: Series[pd.Timestamp]
    Location: Series[str]
    MinTemp: Series[float] = pa.Field(ge=TEMPERATURE_RANGE[0], le=TEMPERATURE_RANGE[1])
    MaxTemp: Series[float] = pa.Field(ge=TEMPERATURE_RANGE[0], le=TEMPERATURE_RANGE[1])

    class Config:
        unique = KEY_COLUMNS

    @pa.check("Location", name="plain_station_name", ignore_na=False)
    def _plain_station_name(cls, locations: Series[str]) -> Series[bool]:
        return location_is_valid(locations)

    @pa.dataframe_check(name="min_not_above_max", ignore_na=False)
    def _min_not_above_max(cls, frame: pd.DataFrame) -> Series[bool]:
        return min_not_above_max(frame)
