"""Contract for the forecast history: the rows a retrain appends to the forecasts table.

`lead` counts months from the forecast's origin (1 = the first month forecast); `climatology`
is what the mean of each calendar month over the months known at that origin says for the same
target month, the yardstick the forecast is scored beside once its month is observed.
"""

import numpy as np
import pandas as pd
import pandera.pandas as pa

from schemas.observations import LOCATION_PATTERN, TEMPERATURE_RANGE
from tasks.data.months import MONTH_PATTERN

FORECAST_KEY = ["location", "as_of", "model_version", "month"]
RUN_ID_PATTERN = r"^[0-9a-f]{32}$"

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
        "climatology": pa.Column(float, pa.Check.in_range(*TEMPERATURE_RANGE), nullable=True),
        "model_name": pa.Column(str, pa.Check.str_startswith("tempcast-")),
        "model_version": pa.Column(int, pa.Check.ge(1)),
        "run_id": pa.Column(str, pa.Check.str_matches(RUN_ID_PATTERN)),
        "published_at": pa.Column(pd.DatetimeTZDtype(tz="UTC"), coerce=True),
    },
    unique=FORECAST_KEY,
    strict=True,
)
