"""The registered model's Python interface, logged with every model (MLflow's models from code).

`mlflow.pyfunc.load_model("models:/tempcast-canberra@champion").predict(frame)` takes a DataFrame
with a `month` column ('YYYY-MM') and a `value` column (monthly mean temperature, °C), at least
`timestep` consecutive months, and returns the `horizon` months after the last one as a DataFrame
with `month`, `forecast`, the quantiles `q025 .. q975` (°C at 2.5% .. 97.5%; `q50` is the forecast)
and `p_above_median` (the chance that the month is warmer than the median of its calendar month
over the months the model knew). Inside are the standalone Keras model (`model.keras`, loaded in
Keras' safe mode), fed the last `timestep` values and their calendar months, and the location's
predictive distribution (`uncertainty.json`: a table of standardised quantiles by level, the
location's anomaly spread `scale`, its calendar months' `medians` and `base_rate`). A month's
quantile at a level is the forecast plus `scale` times the table's standardised quantile there
(linear between the table's levels); the chance of a warmer-than-median month is one minus the
table's level at the median's standardised distance from the forecast. A model logged without
`uncertainty.json` still forecasts: its quantiles and chances are NaN (models logged before
distributions keep the copy of this file they were logged with, which answers the forecast only).

MLflow copies this file into every logged model and runs it wherever the model is loaded, so it
needs nothing but MLflow, Keras, NumPy and pandas: not tempcast itself.
"""

import json

import keras
import numpy as np
import pandas as pd
from mlflow.models import set_model
from mlflow.pyfunc import PythonModel

KERAS_ARTIFACT = "keras_model"
UNCERTAINTY_ARTIFACT = "uncertainty"
LEVELS = (0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.975)
QUANTILE_COLUMNS = ("q025", "q05", "q10", "q25", "q50", "q75", "q90", "q95", "q975")


def consecutive_months(frame: pd.DataFrame) -> pd.DataFrame:
    """The frame's months as monthly periods, in order; a clear error when a column is missing,
    a month is not 'YYYY-MM', a month repeats or one is skipped, or a value is missing."""
    missing = [name for name in ("month", "value") if name not in frame.columns]
    if missing:
        raise ValueError(f"the input needs a 'month' and a 'value' column; missing: {missing}")
    try:
        months = pd.PeriodIndex(frame["month"].astype(str), freq="M")
    except (ValueError, TypeError) as error:
        raise ValueError(f"a month is not in the form YYYY-MM: {error}") from None
    ordered = pd.DataFrame({"month": months, "value": frame["value"].to_numpy(float)})
    ordered = ordered.sort_values("month", ignore_index=True)
    steps = np.diff(ordered["month"].map(lambda period: period.ordinal).to_numpy())
    if (steps != 1).any():
        raise ValueError("the months must be consecutive, each once")
    if ordered["value"].isna().any():
        raise ValueError("every month needs a value")
    return ordered


def distribution_columns(
    forecast: np.ndarray, calendar: np.ndarray, uncertainty: dict | None
) -> dict[str, np.ndarray]:
    """The quantile columns and `p_above_median` of forecast months (°C, their calendar months
    0-11) from the model's `uncertainty.json` (see the module's docstring); NaN without one."""
    if uncertainty is None:
        nan = np.full(len(forecast), np.nan)
        return {**dict.fromkeys(QUANTILE_COLUMNS, nan), "p_above_median": nan}
    levels = np.asarray(uncertainty["levels"], dtype=float)
    standard = np.asarray(uncertainty["standard_quantiles"], dtype=float)
    scale = float(uncertainty["scale"])
    at_levels = np.interp(LEVELS, levels, standard)
    quantiles = forecast[:, None] + scale * at_levels[None, :]
    medians = np.asarray(uncertainty["medians"], dtype=float)[calendar]
    below = np.interp((medians - forecast) / scale, standard, levels)
    named = dict(zip(QUANTILE_COLUMNS, quantiles.T, strict=True))
    return {**named, "p_above_median": 1 - below}


class MonthlyForecaster(PythonModel):
    """Months and values in, the next `horizon` months' forecasts and distributions out."""

    def load_context(self, context) -> None:
        """Load the Keras model in safe mode (no code is loaded with it) and the location's
        distribution (None for a model logged without one)."""
        self.model = keras.saving.load_model(
            context.artifacts[KERAS_ARTIFACT], safe_mode=True, compile=False
        )
        self.uncertainty = None
        if UNCERTAINTY_ARTIFACT in context.artifacts:
            with open(context.artifacts[UNCERTAINTY_ARTIFACT]) as file:
                self.uncertainty = json.load(file)

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        """Forecast the months after the last one given, from the last `timestep` of them, with
        their quantiles and chances of a warmer-than-median month."""
        timestep = int(self.model.inputs[0].shape[1])
        known = consecutive_months(pd.DataFrame(model_input)).tail(timestep)
        if len(known) < timestep:
            raise ValueError(f"the model needs {timestep} consecutive months, got {len(known)}")
        values = known["value"].to_numpy(np.float32).reshape(1, timestep, 1)
        calendar = np.array([[period.month for period in known["month"]]], dtype=np.int32)
        inputs = [values, calendar] if len(self.model.inputs) > 1 else values
        forecast = np.asarray(self.model(inputs, training=False)).reshape(-1).astype(float)
        last = known["month"].iloc[-1]
        months = [last + step for step in range(1, len(forecast) + 1)]
        ahead = np.array([period.month - 1 for period in months])
        columns = distribution_columns(forecast, ahead, self.uncertainty)
        return pd.DataFrame({"month": [str(m) for m in months], "forecast": forecast, **columns})


set_model(MonthlyForecaster())
