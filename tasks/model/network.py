"""The networks, and the standalone per-location models built around them.

A location's model takes raw monthly temperatures in °C, shaped (batch, timestep, 1), and returns
°C, shaped (batch, horizon, 1); any scaling is built into it from fixed per-location constants,
with built-in Keras layers only, so it loads in Keras' safe mode.

With climatology scaling the model is also told the calendar month (1-12) of every input month,
a second input shaped (batch, timestep). Fixed-weight embeddings turn the months into the smooth
climatology of the input and forecast months and into calendar features; the networks forecast
the standardised anomaly from the climatology, given the calendar, and their correction is used
for the first `steps` forecast months only (where validation found that it helps).
"""

import keras
import numpy as np

from tasks.model.climatology import Scaler
from tasks.model.settings import TrainingConfig

INPUT_NAME = "monthly_temperature"
MONTH_NAME = "calendar_month"
FEATURES = 2  # a calendar month as a point on the circle: cos, sin
# The layers of a calendar model that hold a location's constants (see location_constants).
POINTED_TABLES = ("input_climatology", "forecast_climatology")
POINTED_SCALES = ("standardise", "to_celsius")

# Keras' progress bars would flood the flow logs.
keras.utils.disable_interactive_logging()


def calendar_features(calendar: np.ndarray) -> np.ndarray:
    """Calendar months (0 = January) as points on the circle, shape (..., 2), float32."""
    angle = 2 * np.pi * np.asarray(calendar) / 12
    return np.stack([np.cos(angle), np.sin(angle)], axis=-1).astype(np.float32)


def tutorial_network(config: TrainingConfig, name: str) -> keras.Model:
    """Input(timestep,1) -> Bi(LSTM) -> RepeatVector(horizon) -> Bi(LSTM, sequences) -> Dense(1)."""
    inputs = keras.Input((config.timestep, 1))
    lstm = keras.layers.LSTM
    encoded = keras.layers.Bidirectional(lstm(config.units, dropout=config.dropout))(inputs)
    repeated = keras.layers.RepeatVector(config.horizon)(encoded)
    decoded = keras.layers.Bidirectional(
        lstm(config.units, return_sequences=True, dropout=config.dropout)
    )(repeated)
    outputs = keras.layers.TimeDistributed(keras.layers.Dense(1))(decoded)
    return keras.Model(inputs, outputs, name=name)


def calendar_network(config: TrainingConfig, name: str) -> keras.Model:
    """The same encoder-decoder on anomalies, told the calendar: the input months' features join
    the encoder's input, the forecast months' features the decoder's.

    Its output is odd in the anomalies, (g(a) - g(-a)) / 2: a network could otherwise learn a
    fixed warm or cold offset per calendar month from a few training years, which does not carry
    over to other years. The output layer starts at zero, so an untrained network forecasts no
    anomaly at all: the climatology.
    """
    timestep, horizon = config.timestep, config.horizon
    anomaly = keras.Input((timestep, 1), name="anomaly")
    input_calendar = keras.Input((timestep, FEATURES), name="input_calendar")
    forecast_calendar = keras.Input((horizon, FEATURES), name="forecast_calendar")
    lstm = keras.layers.LSTM
    encoder = keras.layers.Bidirectional(lstm(config.units, dropout=config.dropout))
    decoder = keras.layers.Bidirectional(
        lstm(config.units, return_sequences=True, dropout=config.dropout)
    )
    head = keras.layers.TimeDistributed(keras.layers.Dense(1, kernel_initializer="zeros"))

    def branch(values: keras.KerasTensor) -> keras.KerasTensor:
        encoded = encoder(keras.layers.Concatenate()([values, input_calendar]))
        repeated = keras.layers.RepeatVector(horizon)(encoded)
        return head(decoder(keras.layers.Concatenate()([repeated, forecast_calendar])))

    mirrored = branch(keras.layers.Rescaling(-1.0)(anomaly))
    odd = keras.layers.Rescaling(0.5)(keras.layers.Subtract()([branch(anomaly), mirrored]))
    return keras.Model([anomaly, input_calendar, forecast_calendar], odd, name=name)


def build_network(config: TrainingConfig, name: str = "encoder_decoder") -> keras.Model:
    """The trainable network the config asks for (the calendar one with climatology scaling)."""
    if config.scaling == "climatology":
        return calendar_network(config, name)
    return tutorial_network(config, name)


def _combine(networks: list[keras.Model], inputs: list[keras.KerasTensor]) -> keras.KerasTensor:
    """The networks' output, averaged when there are several (an ensemble)."""
    outputs = [network(inputs if len(inputs) > 1 else inputs[0]) for network in networks]
    return keras.layers.Average(name="ensemble")(outputs) if len(outputs) > 1 else outputs[0]


def _fixed(layer: keras.layers.Layer, shape: tuple, weights: list[np.ndarray]) -> keras.Layer:
    """A built-in layer with given, untrainable weights."""
    layer.trainable = False
    layer.build(shape)
    layer.set_weights([w.astype("float32") for w in weights])
    return layer


def _table(rows: np.ndarray) -> np.ndarray:
    """A month lookup's weights: row m for calendar month m (1..12), row 0 never used."""
    return np.vstack([np.full((1, rows.shape[1]), np.nan), rows])


def _month_table(name: str, rows: np.ndarray) -> keras.layers.Embedding:
    """A fixed lookup from a calendar month 1..12 to a row of values (row 0: never used)."""
    layer = keras.layers.Embedding(13, rows.shape[1], name=name)
    return _fixed(layer, (None, None), [_table(rows)])


def months_after(last: np.ndarray, horizon: int) -> np.ndarray:
    """The calendar months (0-11) of the `horizon` months after each of the calendar months
    `last`, shaped (*last.shape, horizon)."""
    return (np.asarray(last)[..., None] + 1 + np.arange(horizon)) % 12


def location_constants(
    scaler: Scaler, horizon: int
) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """What a calendar model holds of one location, by layer name: the rows of its two
    climatology lookups (POINTED_TABLES) and the scales of its two rescalings (POINTED_SCALES)."""
    ahead = months_after(np.arange(12), horizon)
    rows = (scaler.levels[:, None], scaler.levels[ahead])
    tables = dict(zip(POINTED_TABLES, rows, strict=True))
    scales = dict(zip(POINTED_SCALES, (1 / scaler.std, scaler.std), strict=True))
    return tables, scales


def calendar_model(
    networks: list[keras.Model], scaler: Scaler, config: TrainingConfig, steps: int
) -> keras.Model:
    """°C and calendar months in, °C out: the smooth climatology of the forecast months plus the
    networks' correction for the first `steps` of them."""
    timestep, horizon = config.timestep, config.horizon
    values = keras.Input((timestep, 1), name=INPUT_NAME)
    months = keras.Input((timestep,), dtype="int32", name=MONTH_NAME)
    ahead = months_after(np.arange(12), horizon)  # after each month
    tables, scales = location_constants(scaler, horizon)
    last = keras.layers.Cropping1D((timestep - 1, 0), name="last_month")

    def after_last(name: str, rows: np.ndarray, shape: tuple) -> keras.KerasTensor:
        return keras.layers.Reshape(shape, name=f"{name}_ahead")(
            last(_month_table(name, rows)(months))
        )

    level = _month_table("input_climatology", tables["input_climatology"])(months)
    anomaly = keras.layers.Subtract(name="anomaly")([values, level])
    scaled = keras.layers.Rescaling(scales["standardise"], name="standardise")(anomaly)
    input_calendar = _month_table("input_calendar", calendar_features(np.arange(12)))(months)
    forecast_calendar = after_last(
        "forecast_calendar", calendar_features(ahead).reshape(12, -1), (horizon, FEATURES)
    )
    correction = keras.layers.Reshape((horizon,), name="flatten_correction")(
        _combine(networks, [scaled, input_calendar, forecast_calendar])
    )
    used = np.diag((np.arange(horizon) < steps).astype(float))
    gated = _fixed(
        keras.layers.Dense(horizon, use_bias=False, name="steps_used"), (None, horizon), [used]
    )
    degrees = keras.layers.Rescaling(scales["to_celsius"], name="to_celsius")(gated(correction))
    climatology = after_last("forecast_climatology", tables["forecast_climatology"], (horizon,))
    total = keras.layers.Add(name="plus_climatology")([climatology, degrees])
    return keras.Model(
        [values, months],
        keras.layers.Reshape((horizon, 1), name="forecast")(total),
        name="tempcast",
    )


def point_at(model: keras.Model, scaler: Scaler, config: TrainingConfig) -> None:
    """Give a model that calendar_model built another location's constants (its scaler): it then
    computes what a model built for that location computes (0.5 ms, against 20 ms to build)."""
    tables, scales = location_constants(scaler, config.horizon)
    for name, rows in tables.items():
        model.get_layer(name).set_weights([_table(rows).astype("float32")])
    for name, scale in scales.items():
        model.get_layer(name).scale = scale


def location_model(
    networks: list[keras.Model], scaler: Scaler, config: TrainingConfig, steps: int
) -> keras.Model:
    """A standalone model for one location around the shared networks."""
    if config.scaling == "climatology":
        return calendar_model(networks, scaler, config, steps)
    inputs = keras.Input((config.timestep, 1), name=INPUT_NAME)
    if scaler.identity:
        return keras.Model(inputs, _combine(networks, [inputs]), name="tempcast")
    mean = float(scaler.levels[0])
    scaled = keras.layers.Normalization(mean=mean, variance=scaler.std**2, name="standardise")(
        inputs
    )
    outputs = keras.layers.Rescaling(scale=scaler.std, offset=mean, name="to_celsius")(
        _combine(networks, [scaled])
    )
    return keras.Model(inputs, outputs, name="tempcast")


def model_inputs(model: keras.Model, values: np.ndarray, calendar: np.ndarray) -> list[np.ndarray]:
    """A location model's inputs for windows of °C shaped (n, timestep) whose calendar months
    (0 = January) are `calendar`, same shape: the months only for a model that takes them."""
    inputs = [np.asarray(values, dtype=np.float32)[..., None]]
    if len(model.inputs) > 1:
        inputs.append(np.asarray(calendar, dtype=np.int32) + 1)
    return inputs


def predict(model: keras.Model, values: np.ndarray, calendar: np.ndarray) -> np.ndarray:
    """Forecasts in °C, shaped (n, horizon), for windows of values and their calendar months."""
    inputs = model_inputs(model, values, calendar)
    return np.asarray(model(inputs if len(inputs) > 1 else inputs[0], training=False))[..., 0]
