"""Registered versions for promotion tests: constant models with given metrics and settings."""

import keras
import numpy as np

from tasks.data.locations import LocationSeries
from tasks.tracking.models import saved_model
from tasks.tracking.registry import SETTINGS_DIGEST_TAG, SETTINGS_TAG
from tasks.tracking.runs import RunContext, RunRecord, TrackedLocation, log_location_run

HORIZON = 6


def constant_model(
    value: float | np.ndarray, timestep: int = 6, horizon: int = HORIZON
) -> keras.Model:
    """A model that forecasts `value` for every month (or `value[k]` for month k), whatever its
    input."""
    inputs = keras.Input((timestep, 1))
    dense = keras.layers.Dense(horizon, kernel_initializer="zeros")
    outputs = keras.layers.Reshape((horizon, 1))(dense(keras.layers.Flatten()(inputs)))
    model = keras.Model(inputs, outputs)
    kernel, _ = dense.get_weights()
    dense.set_weights([kernel, np.broadcast_to(np.asarray(value, "float32"), (horizon,))])
    return model


def register(
    series: LocationSeries,
    value: float | np.ndarray,
    test_mae: float,
    parent: str,
    settings: str,
    recorded: str = "{}",
) -> TrackedLocation:
    """Log and register a constant model for the location, with given metrics and settings
    (digest `settings`; `recorded`: the settings as JSON, as a version records them)."""
    context = RunContext({"seed": settings}, series.months[-1], "digest", "retrain")
    record = RunRecord(
        location=series.location,
        metrics={"test_mae": test_mae, "baseline_climatology_mae": 2.0, "train_mae": 0.5},
        curves={},
        tags={},
        tables={},
        test_window=None,
        training_data=series.frame(),
        training_digest=series.digest(),
        model_file=saved_model(constant_model(value)),
        example=series.frame().tail(6).rename(columns={"temperature": "value"}),
        model_tags={SETTINGS_DIGEST_TAG: settings, SETTINGS_TAG: recorded},
    )
    return log_location_run.fn(parent, context, record)
