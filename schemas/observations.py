"""Contracts for daily observations: the rows as parsed from the file, and the rows accepted.

`ParsedObservations` is validated lazily, so that one pass finds every bad row; the name of each
failed check is the rejection reason reported for that row. `Observations` is the contract that
every later step relies on: real dates, plain station names, finite temperatures in range,
MinTemp <= MaxTemp, one row per Date and Location.
"""

import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pandera.pandas as pa

TEMPERATURE_COLUMNS = ("MinTemp", "MaxTemp")
TEMPERATURE_RANGE = (-30.0, 60.0)
KEY_COLUMNS = ["Date", "Location"]
VALUE_COLUMNS = ["Date", "Location", "MinTemp", "MaxTemp"]
MAX_LOCATION_LENGTH = 64
LOCATION_PATTERN = re.compile(r"[A-Za-z0-9]+(?:[ -][A-Za-z0-9]+)*")
REJECTION_REASONS = (
    "invalid_date",
    "invalid_location",
    "location_spelling",
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


def location_key(name: str) -> str:
    """What a name is known by downstream (registry names are lower case, spaces as hyphens)."""
    return name.lower().replace(" ", "-")


def location_spelling_is_usual(locations: pd.Series) -> pd.Series:
    """False for a spelling of a station name that another, more frequent spelling shares the
    same key with ('alice springs' beside 'Alice Springs'): the two would share one registered
    model and one output name, so only the usual spelling is kept (ties: the first in order)."""
    counts = locations.value_counts(sort=False)
    counts = counts[[is_station_name(name) for name in counts.index]]
    ranked = counts.rename_axis("name").reset_index(name="rows")
    ranked["key"] = ranked["name"].map(location_key)
    usual = ranked.sort_values(["key", "rows", "name"], ascending=[True, False, True])
    keep = set(usual.drop_duplicates("key")["name"])
    return locations.isin(keep) | ~location_is_valid(locations)


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
    locations = frame["Location"]
    valid = frame["Date"].notna() & location_is_valid(locations) & min_not_above_max(frame)
    valid &= location_spelling_is_usual(locations)
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


def _check(function: Callable[[Any], Any], name: str) -> pa.Check:
    """A named check that also sees null values (a missing value must not pass silently)."""
    return pa.Check(function, name=name, ignore_na=False)


def _temperature_checks(
    rule: Callable[[pd.DataFrame, str], pd.Series], name: str
) -> list[pa.Check]:
    """One frame-level check per temperature column, named `name:column`."""
    return [
        _check(lambda frame, column=column: rule(frame, column), f"{name}:{column}")
        for column in TEMPERATURE_COLUMNS
    ]


# Schemas are built as DataFrameSchema objects rather than DataFrameModel classes: a model's first
# use makes pandera import the typing modules of every installed backend (dask among them), about
# two seconds that the first ingest of a process would pay.
ParsedObservations = pa.DataFrameSchema(
    name="ParsedObservations",
    description="Rows as parsed: NaT/NaN where a value could not be read, flags for empty/NA.",
    columns={
        "record": pa.Column(int),
        "Date": pa.Column(
            pd.Timestamp, _check(lambda dates: dates.notna(), "invalid_date"), nullable=True
        ),
        "Location": pa.Column(
            str,
            [
                _check(location_is_valid, "invalid_location"),
                _check(location_spelling_is_usual, "location_spelling"),
            ],
        ),
        "MinTemp": pa.Column(float, nullable=True),
        "MaxTemp": pa.Column(float, nullable=True),
        "MinTemp_missing": pa.Column(bool),
        "MaxTemp_missing": pa.Column(bool),
    },
    checks=[
        *_temperature_checks(temperature_is_finite, "not_finite"),
        *_temperature_checks(temperature_in_range, "out_of_range"),
        _check(min_not_above_max, "min_above_max"),
        _check(lambda frame: ~duplicate_status(frame)[0], "duplicate"),
        _check(lambda frame: ~duplicate_status(frame)[1], "conflicting_duplicate"),
    ],
)

Observations = pa.DataFrameSchema(
    name="Observations",
    description="Accepted daily observations: the input contract of the monthly step.",
    columns={
        "Date": pa.Column(pd.Timestamp),
        "Location": pa.Column(str, _check(location_is_valid, "plain_station_name")),
        "MinTemp": pa.Column(float, pa.Check.in_range(*TEMPERATURE_RANGE)),
        "MaxTemp": pa.Column(float, pa.Check.in_range(*TEMPERATURE_RANGE)),
    },
    checks=[_check(min_not_above_max, "min_not_above_max")],
    unique=KEY_COLUMNS,
)
