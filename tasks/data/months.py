"""Calendar months as the pipeline names them: 'YYYY-MM' strings."""

import re

import numpy as np
import pandas as pd

from schemas.months import MONTH_PATTERN
from tasks.errors import TempcastError


def parse_month(text: str, what: str = "month") -> pd.Period:
    """Parse 'YYYY-MM' into a monthly Period, or raise TempcastError naming `what`."""
    if not isinstance(text, str) or re.fullmatch(MONTH_PATTERN, text.strip()) is None:
        raise TempcastError(f"{what} {text!r} is not a month in the form YYYY-MM")
    return pd.Period(text.strip(), freq="M")


def month_labels(periods: pd.PeriodIndex) -> list[str]:
    """'YYYY-MM' labels of monthly periods."""
    return [str(period) for period in periods]


def month_range(first: str | pd.Period, last: str | pd.Period) -> list[str]:
    """Every month from `first` to `last` inclusive, as labels."""
    return month_labels(pd.period_range(first, last, freq="M"))


def describe_months(months: list[str]) -> str:
    """A short human form of a list of consecutive months: '2009-01' or '2009-01..2009-03'."""
    return months[0] if len(months) == 1 else f"{months[0]}..{months[-1]}"


def last_complete_month(last_date: pd.Timestamp) -> pd.Period:
    """The last month fully covered by data that ends on `last_date`."""
    month = last_date.to_period("M")
    return month if last_date.normalize() == month.end_time.normalize() else month - 1


def calendar_months(first_month: str, count: int) -> np.ndarray:
    """Calendar month numbers (0..11) of `count` consecutive months starting at 'YYYY-MM'."""
    year, month = (int(part) for part in first_month.split("-"))
    return (np.arange(count) + (year * 12 + month - 1)) % 12


def calendar_of(months: pd.Index | pd.Series) -> np.ndarray:
    """Calendar month numbers (0 = January) of any 'YYYY-MM' labels, consecutive or not."""
    return pd.PeriodIndex(months, freq="M").month.to_numpy() - 1


def expand_range(start: str, end: str) -> list[str]:
    """Every month from `start` to `end` inclusive; a reversed range is an error."""
    first, last = parse_month(start, "--from"), parse_month(end, "--to")
    if first > last:
        raise TempcastError(f"backfill range is in the wrong order: {first} is after {last}")
    return month_range(first, last)
