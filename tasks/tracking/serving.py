"""The registered model's Python interface, logged with every model (MLflow's models from code).

`mlflow.pyfunc.load_model("models:/tempcast-canberra@champion").predict(frame)` takes a DataFrame
with a `month` column ('YYYY-MM') and a `value` column (monthly mean temperature, °C), at least
`timestep` consecutive months, and returns the `horizon` months after the last one as a DataFrame
with `month` and `forecast` columns. Inside is the standalone Keras model (`model.keras`, loaded
in Keras' safe mode), fed the last `timestep` values and their calendar months.

MLflow copies this file into every logged model and runs it wherever the model is loaded, so it
needs nothing but MLflow, Keras, NumPy and pandas: not tempcast itself.
"""

import keras
import numpy as np
import pandas as pd
from mlflow.models import set_model
from mlflow.pyfunc import PythonModel

KERAS_ARTIFACT = "keras_model"


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


class MonthlyForecaster(PythonModel):
    """Months and values in, the next `horizon` months' forecasts out."""

    def load_context(self, context) -> None:
        """Load the Keras model in safe mode (no code is loaded with it)."""
        self.model = keras.saving.load_model(
            context.artifacts[KERAS_ARTIFACT], safe_mode=True, compile=False
        )

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        """Forecast the months after the last one given, from the last `timestep` of them."""
        timestep = int(self.model.inputs[0].shape[1])
        known = consecutive_months(pd.DataFrame(model_input)).tail(timestep)
        if len(known) < timestep:
            raise ValueError(f"the model needs {timestep} consecutive months, got {len(known)}")
        values = known["value"].to_numpy(np.float32).reshape(1, timestep, 1)
        calendar = np.array([[period.month for period in known["month"]]], dtype=np.int32)
        inputs = [values, calendar] if len(self.model.inputs) > 1 else values
        forecast = np.asarray(self.model(inputs, training=False)).reshape(-1)
        last = known["month"].iloc[-1]
        months = [str(last + step) for step in range(1, len(forecast) + 1)]
        return pd.DataFrame({"month": months, "forecast": forecast.astype(float)})


set_model(MonthlyForecaster())
