"""The network: the recipe's bidirectional LSTM encoder-decoder, and per-location wrappers.

A location's model always takes raw monthly temperatures in °C, shaped (batch, timestep, 1),
and returns °C, shaped (batch, horizon, 1): any scaling is built into the model from fixed
per-location constants, with built-in Keras layers only, so it loads in Keras' safe mode.
"""

from dataclasses import dataclass

import keras
import numpy as np

from tasks.config import Scaling

INPUT_NAME = "monthly_temperature"

# Keras' progress bars would flood the flow logs (MLflow's pyfunc predict shows one per call).
keras.utils.disable_interactive_logging()


@dataclass(frozen=True)
class Scaler:
    """Per-location standardisation constants, fit on training months only."""

    mean: float
    std: float

    def scale(self, values: np.ndarray) -> np.ndarray:
        """°C to standardised units."""
        return (values - self.mean) / self.std

    def unscale(self, values: np.ndarray) -> np.ndarray:
        """Standardised units back to °C."""
        return values * self.std + self.mean


IDENTITY = Scaler(mean=0.0, std=1.0)


def fit_scaler(training_values: np.ndarray, scaling: Scaling) -> Scaler:
    """Mean and standard deviation of the training months (identity when scaling is 'none')."""
    if scaling == "none":
        return IDENTITY
    std = float(np.std(training_values))
    return Scaler(mean=float(np.mean(training_values)), std=std if std > 1e-6 else 1.0)


def build_network(
    timestep: int, horizon: int, units: int, name: str = "encoder_decoder"
) -> keras.Model:
    """Input(timestep,1) -> Bi(LSTM) -> RepeatVector(horizon) -> Bi(LSTM, sequences) -> Dense(1)."""
    inputs = keras.Input((timestep, 1))
    encoded = keras.layers.Bidirectional(keras.layers.LSTM(units))(inputs)
    repeated = keras.layers.RepeatVector(horizon)(encoded)
    decoded = keras.layers.Bidirectional(keras.layers.LSTM(units, return_sequences=True))(repeated)
    outputs = keras.layers.TimeDistributed(keras.layers.Dense(1))(decoded)
    return keras.Model(inputs, outputs, name=name)


def location_model(networks: list[keras.Model], scaler: Scaler, timestep: int) -> keras.Model:
    """A standalone °C-in, °C-out model: standardise, average the networks, scale back."""
    inputs = keras.Input((timestep, 1), name=INPUT_NAME)
    scaled = inputs
    if scaler != IDENTITY:
        scaled = keras.layers.Normalization(
            mean=scaler.mean, variance=scaler.std**2, name="standardise"
        )(inputs)
    outputs = [network(scaled) for network in networks]
    combined = keras.layers.Average(name="ensemble")(outputs) if len(outputs) > 1 else outputs[0]
    if scaler != IDENTITY:
        combined = keras.layers.Rescaling(scale=scaler.std, offset=scaler.mean, name="to_celsius")(
            combined
        )
    return keras.Model(inputs, combined, name="tempcast")


def predict(model: keras.Model, x: np.ndarray) -> np.ndarray:
    """Forecasts in °C for inputs shaped (n, timestep, 1), as an (n, horizon) array."""
    return np.asarray(model(np.asarray(x, dtype=np.float32), training=False))[..., 0]
