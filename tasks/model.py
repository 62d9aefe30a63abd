"""The network: the recipe's bidirectional LSTM encoder-decoder, and per-location wrappers.

A location's model always takes raw monthly temperatures in °C, shaped (batch, timestep, 1),
and returns °C, shaped (batch, horizon, 1): any scaling is built into the model from fixed
per-location constants, with built-in Keras layers only, so it loads in Keras' safe mode.

With `climatology` scaling the networks forecast anomalies from the location's smooth
climatology. The model is given no dates, so it finds the calendar position of its input
itself: fixed-weight layers match the input's seasonal shape against the twelve shifts of the
climatology (insensitive to the level, so a warm spell cannot shift it), and a softmax picks one.
"""

from dataclasses import dataclass

import keras
import numpy as np

from tasks.baselines import calendar_months
from tasks.config import Scaling

INPUT_NAME = "monthly_temperature"
PHASE_SHARPNESS = 1.0  # softmax inverse temperature on squared °C differences

# Keras' progress bars would flood the flow logs (MLflow's pyfunc predict shows one per call).
keras.utils.disable_interactive_logging()


@dataclass(frozen=True)
class Scaler:
    """Per-location constants: a level for each calendar month (Jan..Dec) and a spread.

    "none" has levels 0 and spread 1; "standard" one level for every month (the mean);
    "climatology" the smooth seasonal cycle, with the spread of the anomalies around it.
    """

    levels: np.ndarray
    std: float

    @property
    def identity(self) -> bool:
        """True when scaling changes nothing."""
        return self.std == 1.0 and not self.levels.any()

    @property
    def seasonal(self) -> bool:
        """True when the level depends on the calendar month."""
        return bool(np.ptp(self.levels) > 0)

    def scale(self, values: np.ndarray, calendar: np.ndarray) -> np.ndarray:
        """°C to scaled units; `calendar` gives each value's calendar month (0 = January)."""
        return (values - self.levels[calendar]) / self.std

    def unscale(self, values: np.ndarray, calendar: np.ndarray) -> np.ndarray:
        """Scaled units back to °C."""
        return values * self.std + self.levels[calendar]


IDENTITY = Scaler(levels=np.zeros(12), std=1.0)


def harmonic_climatology(values: np.ndarray, calendar: np.ndarray, harmonics: int) -> np.ndarray:
    """Least-squares fit of a mean and `harmonics` annual harmonics, valued per calendar month."""

    def design(months: np.ndarray) -> np.ndarray:
        angle = 2 * np.pi * months[:, None] * np.arange(1, harmonics + 1) / 12
        return np.hstack([np.ones((len(months), 1)), np.cos(angle), np.sin(angle)])

    coefficients = np.linalg.lstsq(design(calendar.astype(float)), values, rcond=None)[0]
    return design(np.arange(12.0)) @ coefficients


def fit_scaler(
    values: np.ndarray, first_month: str, scaling: Scaling, harmonics: int = 2
) -> Scaler:
    """The scaling constants of one location, from `values` (consecutive months from
    `first_month`): nothing for 'none', mean and spread for 'standard', the smooth climatology
    and the spread of the anomalies for 'climatology'."""
    if scaling == "none":
        return IDENTITY
    calendar = calendar_months(first_month, len(values))
    if scaling == "standard":
        levels = np.full(12, float(np.mean(values)))
    else:
        levels = harmonic_climatology(values, calendar, harmonics)
    std = float(np.std(values - levels[calendar]))
    return Scaler(levels=levels, std=std if std > 1e-6 else 1.0)


def build_network(
    timestep: int,
    horizon: int,
    units: int,
    dropout: float = 0.0,
    zero_head: bool = False,
    name: str = "encoder_decoder",
) -> keras.Model:
    """Input(timestep,1) -> Bi(LSTM) -> RepeatVector(horizon) -> Bi(LSTM, sequences) -> Dense(1).

    With `zero_head` the output layer starts at zero, so an untrained network forecasts no
    anomaly at all: the climatology.
    """
    head = "zeros" if zero_head else "glorot_uniform"
    inputs = keras.Input((timestep, 1))
    encoded = keras.layers.Bidirectional(keras.layers.LSTM(units, dropout=dropout))(inputs)
    repeated = keras.layers.RepeatVector(horizon)(encoded)
    decoded = keras.layers.Bidirectional(
        keras.layers.LSTM(units, return_sequences=True, dropout=dropout)
    )(repeated)
    outputs = keras.layers.TimeDistributed(keras.layers.Dense(1, kernel_initializer=head))(decoded)
    return keras.Model(inputs, outputs, name=name)


def _combine(networks: list[keras.Model], scaled: keras.KerasTensor) -> keras.KerasTensor:
    """The networks' output, averaged when there are several (an ensemble)."""
    outputs = [network(scaled) for network in networks]
    return keras.layers.Average(name="ensemble")(outputs) if len(outputs) > 1 else outputs[0]


def _fixed_dense(
    units: int, weights: list[np.ndarray], name: str, use_bias: bool
) -> keras.layers.Dense:
    """A Dense layer with given, untrainable weights."""
    layer = keras.layers.Dense(units, use_bias=use_bias, trainable=False, name=name)
    layer.build((None, weights[0].shape[0]))
    layer.set_weights([w.astype("float32") for w in weights])
    return layer


def seasonal_model(
    networks: list[keras.Model], scaler: Scaler, timestep: int, horizon: int
) -> keras.Model:
    """°C in, °C out around a seasonal climatology whose phase the model finds in its input."""
    shifts = np.arange(12)[:, None]
    input_cycle = scaler.levels[(shifts + np.arange(timestep)) % 12]  # (12, timestep)
    forecast_cycle = scaler.levels[(shifts + timestep + np.arange(horizon)) % 12]
    centred = input_cycle - input_cycle.mean(axis=1, keepdims=True)
    # -||(x - mean x) - centred_k||^2 = 2 x.centred_k - ||centred_k||^2 + (terms equal for all k)
    match = [2 * PHASE_SHARPNESS * centred.T, -PHASE_SHARPNESS * (centred**2).sum(axis=1)]

    inputs = keras.Input((timestep, 1), name=INPUT_NAME)
    flat = keras.layers.Reshape((timestep,), name="flatten")(inputs)
    phase = keras.layers.Softmax(name="phase")(_fixed_dense(12, match, "phase_match", True)(flat))
    expected = _fixed_dense(timestep, [input_cycle], "input_climatology", False)(phase)
    ahead = _fixed_dense(horizon, [forecast_cycle], "forecast_climatology", False)(phase)
    anomaly = keras.layers.Subtract(name="anomaly")([flat, expected])
    scaled = keras.layers.Rescaling(1 / scaler.std, name="standardise")(anomaly)
    forecast = _combine(networks, keras.layers.Reshape((timestep, 1), name="sequence")(scaled))
    degrees = keras.layers.Rescaling(scaler.std, name="to_celsius")(
        keras.layers.Reshape((horizon,), name="flatten_forecast")(forecast)
    )
    total = keras.layers.Add(name="plus_climatology")([ahead, degrees])
    return keras.Model(
        inputs, keras.layers.Reshape((horizon, 1), name="forecast")(total), name="tempcast"
    )


def location_model(
    networks: list[keras.Model], scaler: Scaler, timestep: int, horizon: int
) -> keras.Model:
    """A standalone °C-in, °C-out model for one location around the shared networks."""
    if scaler.seasonal:
        return seasonal_model(networks, scaler, timestep, horizon)
    inputs = keras.Input((timestep, 1), name=INPUT_NAME)
    if scaler.identity:
        return keras.Model(inputs, _combine(networks, inputs), name="tempcast")
    mean = float(scaler.levels[0])
    scaled = keras.layers.Normalization(mean=mean, variance=scaler.std**2, name="standardise")(
        inputs
    )
    outputs = keras.layers.Rescaling(scale=scaler.std, offset=mean, name="to_celsius")(
        _combine(networks, scaled)
    )
    return keras.Model(inputs, outputs, name="tempcast")


def predict(model: keras.Model, x: np.ndarray) -> np.ndarray:
    """Forecasts in °C for inputs shaped (n, timestep, 1), as an (n, horizon) array."""
    return np.asarray(model(np.asarray(x, dtype=np.float32), training=False))[..., 0]
