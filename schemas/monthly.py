"""Contracts for the wide monthly tables: one row per location, one column per consecutive month."""

import pandas as pd
import pandera.pandas as pa

from schemas.months import MONTH_PATTERN
from schemas.observations import TEMPERATURE_RANGE


def months_are_consecutive(frame: pd.DataFrame) -> bool:
    """True when the month columns run without a hole and in order."""
    periods = pd.PeriodIndex(frame.columns, freq="M")
    return len(periods) == 0 or bool((periods == pd.period_range(periods[0], periods[-1])).all())


def monthly_table_schema(name: str, nullable: bool) -> pa.DataFrameSchema:
    """A table of monthly mean temperatures, with or without missing cells."""
    return pa.DataFrameSchema(
        name=name,
        columns={
            MONTH_PATTERN: pa.Column(
                float, checks=pa.Check.in_range(*TEMPERATURE_RANGE), nullable=nullable, regex=True
            )
        },
        index=pa.Index(str, name="Location", unique=True),
        strict=True,
        checks=pa.Check(months_are_consecutive, element_wise=False, name="consecutive_months"),
    )


MonthlyTemperatures = monthly_table_schema("MonthlyTemperatures", nullable=True)
CompleteTemperatures = monthly_table_schema("CompleteTemperatures", nullable=False)
