"""Contract for the forecast history: the rows a retrain appends to the forecasts table.

`lead` counts months from the forecast's origin (1 = the first month forecast); `climatology`
is what the mean of each calendar month over the months known at that origin says for the same
target month, the yardstick the forecast is scored beside once its month is observed.

The predictive distribution of each forecast rides along: its quantiles (QUANTILE_COLUMNS, never
crossing), `p_above_median` (the chance of a month warmer than `median`, the median of its
calendar month over the months known at that origin) and `base_rate` (the share of those known
months warmer than their calendar month's median: climatology's answer to the same question).
All are null for a forecast published without a distribution (older models, older rows). The
quantile names are those of tasks.model.uncertainty, spelled out here so that reading the
history never imports the modelling code; a test keeps the two lists equal.
"""

import numpy as np
import pandas as pd
import pandera.pandas as pa

from schemas.months import MONTH_PATTERN
from schemas.observations import LOCATION_PATTERN, TEMPERATURE_RANGE

FORECAST_KEY = ["location", "as_of", "model_version", "month"]
RUN_ID_PATTERN = r"^[0-9a-f]{32}$"
QUANTILE_COLUMNS = ["q025", "q05", "q10", "q25", "q50", "q75", "q90", "q95", "q975"]
DISTRIBUTION_COLUMNS = [*QUANTILE_COLUMNS, "p_above_median", "median", "base_rate"]


def quantiles_ordered(frame: pd.DataFrame) -> pd.Series:
    """Per row: the quantiles never decrease from q025 to q975 (rows without them pass)."""
    values = frame[QUANTILE_COLUMNS].to_numpy(float)
    known = ~np.isnan(values).any(axis=1)
    ordered = (np.diff(values, axis=1) >= 0).all(axis=1)
    return pd.Series(~known | ordered, index=frame.index)


def temperature(nullable: bool = True) -> pa.Column:
    """A column of temperatures (°C) in the plausible range."""
    return pa.Column(float, pa.Check.in_range(*TEMPERATURE_RANGE), nullable=nullable)


def probability() -> pa.Column:
    """A nullable column of probabilities (0..1)."""
    return pa.Column(float, pa.Check.in_range(0.0, 1.0), nullable=True)


PublishedForecasts = pa.DataFrameSchema(
    name="PublishedForecasts",
    description="One row per location, as_of, model version and target month, as published.",
    columns={
        "location": pa.Column(str, pa.Check.str_matches(rf"^{LOCATION_PATTERN.pattern}$")),
        "as_of": pa.Column(str, pa.Check.str_matches(MONTH_PATTERN)),
        "month": pa.Column(str, pa.Check.str_matches(MONTH_PATTERN)),
        "lead": pa.Column(int, pa.Check.ge(1)),
        "forecast": pa.Column(
            float, [pa.Check(np.isfinite, name="finite"), pa.Check.in_range(*TEMPERATURE_RANGE)]
        ),
        "climatology": temperature(),
        "model_name": pa.Column(str, pa.Check.str_startswith("tempcast-")),
        "model_version": pa.Column(int, pa.Check.ge(1)),
        "run_id": pa.Column(str, pa.Check.str_matches(RUN_ID_PATTERN)),
        "published_at": pa.Column(pd.DatetimeTZDtype(tz="UTC"), coerce=True),
        **{name: temperature() for name in QUANTILE_COLUMNS},
        "p_above_median": probability(),
        "median": temperature(),
        "base_rate": probability(),
    },
    checks=[pa.Check(quantiles_ordered, name="quantiles_ordered")],
    unique=FORECAST_KEY,
    strict=True,
)
