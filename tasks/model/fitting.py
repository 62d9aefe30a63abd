"""Fitting: train the networks on what was known at a forecast origin, and wrap them per location.

`global` trains one set of networks on every location's windows at once (large batches) and wraps
it per location; `per_location` trains each location on its own, as the tutorial does. Seeded
training takes turns within a process (TensorFlow's random state is global), so that the seed
alone decides a model whatever else runs in other threads.

With `rolling` validation, the number of epochs and the forecast steps that use the networks'
correction are chosen on a rolling-origin validation: the networks are fit on the windows known
`validation_months` before the origin and forecast from each of the last `validation_months`
origins; only months known at the origin are scored. The correction is used for the first K
steps when its gain over the climatology there is more than one standard error (across locations),
choosing the epochs and K with the largest gain; otherwise it is not used at all.
"""

import contextlib
import dataclasses
import hashlib
import math
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import keras
import numpy as np
import tensorflow as tf

from tasks.data.locations import LocationSeries
from tasks.data.windows import make_windows
from tasks.model.climatology import Scaler, fit_scaler
from tasks.model.network import (
    FEATURES,
    build_network,
    calendar_features,
    location_model,
    months_after,
    point_at,
)
from tasks.model.settings import TrainingConfig
from tasks.model.uncertainty import Distribution, LocationSpread, Spread, calibrate, distribution

Log = Callable[[str], None]
History = dict[str, list[float]]

SEEDED_TRAINING = threading.Lock()
# Windows the networks forecast at once: a thousand locations' training windows in one call
# took 1.7 GB more memory than the rest of a retrain's peak.
FORECAST_BATCH = 4096


class TrainingDiverged(RuntimeError):
    """The loss became non-finite."""


@dataclass(frozen=True)
class Validation:
    """A rolling-origin validation: MAE (°C) after each epoch (row 0: untrained, the climatology)
    with the correction used on every validated step, and what it chose."""

    mae: list[float]
    epochs: int
    steps: int
    origins: int
    note: str


@dataclass(frozen=True)
class Trained:
    """Networks trained for a group: the members, their history, the epochs trained, the forecast
    steps the correction is used for, and the validation that chose them (rolling only)."""

    members: list[keras.Model]
    history: History
    epochs: int
    steps: int
    validation: Validation | None = None


@dataclass(frozen=True)
class GroupFit:
    """Networks fit together for a group of locations on what was known at `origin` (months
    known; the training windows end by `trained_until`), each location's scaler, and how they
    were trained: `steps` is how many forecast months use the networks' correction."""

    config: TrainingConfig
    members: list[keras.Model]
    scalers: dict[str, Scaler]
    origin: int
    trained_until: int
    history: History
    epochs: int
    steps: int
    seconds: float
    validation: Validation | None = None
    spread: Spread | None = None
    spreads: dict[str, LocationSpread] = field(default_factory=dict)

    def model(self, location: str) -> keras.Model:
        """The location's standalone model (°C in, °C out) around the shared networks."""
        return location_model(self.members, self.scalers[location], self.config, self.steps)

    def model_like(self, built: keras.Model | None, location: str) -> keras.Model:
        """The location's standalone model: `built` (a model of this fit for another location)
        given the location's constants where its scaling allows, else a new one."""
        if built is None or self.config.scaling != "climatology":
            return self.model(location)
        point_at(built, self.scalers[location], self.config)
        return built

    def members_mean(self, inputs: list[np.ndarray]) -> np.ndarray:
        """The networks' mean output (scaled), shaped (n, horizon), for a batch of inputs."""
        feed = inputs if len(inputs) > 1 else inputs[0]
        return np.mean([np.asarray(m(feed, training=False))[..., 0] for m in self.members], 0)

    def distribution(self, series: LocationSeries, forecast: np.ndarray) -> Distribution:
        """The predictive distribution of a location's forecast of the months from `origin` on
        (calibrated on what was known at the origin: see tasks.model.uncertainty)."""
        if self.spread is None:
            raise ValueError("this fit has no calibrated spread")
        calendar = series.calendar(self.origin + len(forecast))[self.origin :]
        return distribution(self.spread, self.spreads[series.location], forecast, calendar)

    def with_copied_networks(self) -> "GroupFit":
        """The same fit around copies of its networks. Keras records every model built around
        a network in that network, so models built around a copy are freed with the copy."""
        return dataclasses.replace(self, members=copy_networks(self.members))

    def forecast(
        self, locations: list[str], windows: np.ndarray, calendar: np.ndarray
    ) -> np.ndarray:
        """°C forecasts, shaped (n, horizon), for windows of °C shaped (n, timestep) with their
        calendar months (0-11), each of the named location: what its standalone model gives,
        computed FORECAST_BATCH windows at a time."""
        levels = np.stack([self.scalers[name].levels for name in locations])
        spread = np.array([self.scalers[name].std for name in locations])[:, None]
        rows = np.arange(len(locations))[:, None]
        scaled = (windows - levels[rows, calendar]) / spread
        inputs = network_inputs(scaled, calendar, self.config.horizon, self.config)
        outputs = np.concatenate(
            [
                self.members_mean([part[start : start + FORECAST_BATCH] for part in inputs])
                for start in range(0, max(len(windows), 1), FORECAST_BATCH)
            ]
        )
        ahead = months_after(calendar[:, -1], self.config.horizon)
        used = np.arange(self.config.horizon) < self.steps
        return levels[rows, ahead] + spread * outputs * used


@dataclass
class FitRound:
    """The fits of one round: each location's group fit, and why any location could not be
    fit."""

    fits: dict[str, GroupFit] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class TrainingSet:
    """Network inputs (one array, or three with the calendar) and targets, in scaled units."""

    inputs: list[np.ndarray]
    targets: np.ndarray

    def __len__(self) -> int:
        return len(self.targets)

    def take(self, rows: np.ndarray) -> "TrainingSet":
        """The windows at `rows`, in that order."""
        return TrainingSet([part[rows] for part in self.inputs], self.targets[rows])


class ProgressLog(keras.callbacks.Callback):
    """Log about ten lines per fit: epoch, loss and validation loss."""

    def __init__(self, label: str, epochs: int, log: Log) -> None:
        super().__init__()
        self.label, self.epochs, self.log = label, epochs, log
        self.every = max(1, epochs // 10)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if (epoch + 1) % self.every == 0 or epoch == 0:
            logs = logs or {}
            val = f", val_loss {logs['val_loss']:.4f}" if "val_loss" in logs else ""
            loss = logs.get("loss", float("nan"))
            self.log(f"{self.label}: epoch {epoch + 1}/{self.epochs}, loss {loss:.4f}{val}")


class EpochForecasts(keras.callbacks.Callback):
    """The networks' (averaged) output on fixed inputs before training and after every epoch."""

    def __init__(self, inputs: list[np.ndarray], members: int) -> None:
        super().__init__()
        self.inputs, self.members = inputs, members
        self.outputs: list[np.ndarray] = []

    def record(self) -> None:
        feed = self.inputs if len(self.inputs) > 1 else self.inputs[0]
        outputs = np.asarray(self.model.predict_on_batch(feed))
        self.outputs.append(outputs.reshape(*outputs.shape[:2], self.members).mean(axis=-1))

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.record()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.record()


def set_seed(seed: int) -> None:
    """Fix every random source (Python, NumPy, TensorFlow) and make TensorFlow ops deterministic."""
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def network_inputs(
    values: np.ndarray, calendar: np.ndarray, horizon: int, config: TrainingConfig
) -> list[np.ndarray]:
    """The networks' inputs for scaled windows (n, timestep) whose calendar months (0-11) are
    `calendar`, same shape: the values, and for the calendar networks the input and forecast
    months' features."""
    inputs = [np.asarray(values, dtype=np.float32)[..., None]]
    if config.scaling == "climatology":
        ahead = months_after(calendar[:, -1], horizon)
        inputs += [calendar_features(calendar), calendar_features(ahead)]
    return inputs


def scaled_windows(series: LocationSeries, scaler: Scaler, config: TrainingConfig) -> TrainingSet:
    """Every window of a location's series, in scaled units, each value with its calendar month."""
    timestep, horizon = config.timestep, config.horizon
    calendar = series.calendar()
    windows = make_windows(series.values, timestep, horizon)
    x_months = calendar[windows.starts[:, None] + np.arange(timestep)]
    y_months = calendar[windows.starts[:, None] + timestep + np.arange(horizon)]
    x = scaler.scale(windows.x[..., 0], x_months)
    y = scaler.scale(windows.y[..., 0], y_months)
    return TrainingSet(network_inputs(x, x_months, horizon, config), y[..., None])


def epoch_size(windows: int, config: TrainingConfig) -> int:
    """Windows one epoch trains on: all of them, or `epoch_windows` rounded up to whole
    batches when there are more."""
    if config.epoch_windows is None:
        return windows
    batches = -(-config.epoch_windows // config.batch_size)
    return min(windows, batches * config.batch_size)


def epoch_order(windows: int, length: int, config: TrainingConfig) -> np.ndarray:
    """`length` window indices, epoch after epoch: passes over all windows one after the other
    (each a seeded shuffle, with `shuffle`), so that every window is used before any again."""
    rng = np.random.default_rng(config.seed)
    passes = -(-length // windows)
    orders = [
        rng.permutation(windows) if config.shuffle else np.arange(windows) for _ in range(passes)
    ]
    return np.concatenate(orders)[:length]


def stack(sets: list[TrainingSet]) -> TrainingSet:
    """One training set from several (every location's windows together)."""
    inputs = [
        np.concatenate(parts).astype(np.float32)
        for parts in zip(*(s.inputs for s in sets), strict=True)
    ]
    return TrainingSet(inputs, np.concatenate([s.targets for s in sets]).astype(np.float32))


class Trainer:
    """An ensemble's networks joined in one compiled model, put back in their seeded initial
    state (weights, dropout seeds, optimizer) before every fit. A new network's training step
    takes longer to trace than a small fit takes to run, so each architecture is built and
    traced once per process and then reused (under SEEDED_TRAINING)."""

    def __init__(self, config: TrainingConfig) -> None:
        set_seed(config.seed)  # decides the initial weights and dropout seeds
        self.members = [build_network(config, f"member_{k}") for k in range(config.ensemble)]
        inputs = [keras.Input(shape) for shape in input_shapes(config)]
        feed = inputs if len(inputs) > 1 else inputs[0]
        outputs = [member(feed) for member in self.members]
        self.joint = keras.Model(
            feed, keras.layers.Concatenate()(outputs) if len(outputs) > 1 else outputs[0]
        )
        self.joint.compile(
            optimizer=keras.optimizers.Adam(learning_rate=config.learning_rate), loss="mse"
        )
        self.joint.optimizer.build(self.joint.trainable_variables)
        self.initial = [v.numpy() for v in [*self.joint.variables, *self.joint.optimizer.variables]]
        # Keras draws each epoch's shuffle from TensorFlow's global seed: one fixed value for
        # every fit. (Setting a seed clears TensorFlow's caches, which makes the next fit
        # optimise its graph again: seconds. So it is set here, once per trainer, not per fit.)
        tf.random.set_seed(SHUFFLE_SEED)

    def reset(self) -> None:
        """Back to the state just after building: same weights, dropout seeds and optimizer."""
        variables = [*self.joint.variables, *self.joint.optimizer.variables]
        for variable, value in zip(variables, self.initial, strict=True):
            variable.assign(value)

    def fit(
        self,
        data: TrainingSet,
        config: TrainingConfig,
        epochs: int,
        callbacks: list[keras.callbacks.Callback],
    ) -> History:
        """Fit all members jointly from their initial state (each against the same targets);
        returns the per-epoch history. A non-finite loss raises TrainingDiverged."""
        self.reset()
        if not epochs or not len(data):
            return {"loss": []}
        options: dict = {"shuffle": config.shuffle}
        if config.validation == "random":
            options["validation_split"] = config.validation_split
        per_epoch = epoch_size(len(data), config)
        if per_epoch < len(data):
            data = data.take(epoch_order(len(data), per_epoch * epochs, config))
            options = {"shuffle": False, "steps_per_epoch": per_epoch // config.batch_size}
        history = self.joint.fit(
            data.inputs if len(data.inputs) > 1 else data.inputs[0],
            np.repeat(data.targets, len(self.members), axis=-1),
            batch_size=config.batch_size,
            epochs=epochs,
            verbose=0,
            callbacks=[*callbacks, keras.callbacks.TerminateOnNaN()],
            **options,
        ).history
        if not np.all(np.isfinite(history.get("loss", [0.0]))):
            raise TrainingDiverged("the training loss became non-finite")
        return {name: [float(v) for v in values] for name, values in history.items()}

    def trained_members(self) -> list[keras.Model]:
        """Copies of the members with their current weights (this trainer will be reset)."""
        return copy_networks(self.members)


def copy_networks(networks: list[keras.Model]) -> list[keras.Model]:
    """New networks with the same architecture and weights."""
    copies = []
    for network in networks:
        copy = keras.models.clone_model(network)
        copy.set_weights(network.get_weights())
        copies.append(copy)
    return copies


_TRAINERS: dict[str, Trainer] = {}
SHUFFLE_SEED = 0
ARCHITECTURE = {"scaling", "timestep", "horizon", "units", "dropout", "ensemble", "seed"}


@dataclass(frozen=True)
class SharedFit:
    """A training kept for others on the same windows: the members' weights before training
    and after each epoch, and the per-epoch history."""

    weights: list[list[list[np.ndarray]]]
    history: History


class Snapshots(keras.callbacks.Callback):
    """The members' weights before training and after every epoch."""

    def __init__(self, members: list[keras.Model]) -> None:
        super().__init__()
        self.members = members
        self.weights: list[list[list[np.ndarray]]] = []

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.weights.append([member.get_weights() for member in self.members])

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.weights.append([member.get_weights() for member in self.members])


# Trainings shared while a backfill runs (see sharing_fits); None otherwise.
_SHARED: dict[str, SharedFit] | None = None
FIT_SETTINGS = ARCHITECTURE | {"learning_rate", "batch_size", "shuffle", "epoch_windows", "epochs"}


@contextlib.contextmanager
def sharing_fits() -> Iterator[None]:
    """Within this block, a rolling-validation training on windows that an earlier one in this
    process trained on is replayed from it, not trained again. In a backfill the production fit
    as of a month and the validation fit of the origin `validation_months` later train on the
    same windows (those known at the month), so each is trained once. Training is seeded and
    deterministic: the weights after e epochs of a longer training are those of an e-epoch
    training, so the results are the same as without sharing."""
    global _SHARED
    _SHARED = {}
    try:
        yield
    finally:
        _SHARED = None


def fit_key(data: TrainingSet, config: TrainingConfig) -> str:
    """What identifies a training: its windows, targets and the settings that shape it."""
    digest = hashlib.sha256(config.model_dump_json(include=FIT_SETTINGS).encode())
    for part in [*data.inputs, data.targets]:
        digest.update(np.ascontiguousarray(part).tobytes())
    return digest.hexdigest()


def replay(
    trainer: Trainer, shared: SharedFit, epochs: int, callbacks: list[keras.callbacks.Callback]
) -> History:
    """Put the members in the state after `epochs` epochs of a shared training, showing each
    epoch's state to the callbacks on the way as a training would."""

    def restore(state: list[list[np.ndarray]]) -> None:
        for member, weights in zip(trainer.members, state, strict=True):
            member.set_weights(weights)

    for callback in callbacks:
        callback.set_model(trainer.joint)
    restore(shared.weights[0])
    for callback in callbacks:
        callback.on_train_begin()
    for epoch in range(epochs):
        restore(shared.weights[epoch + 1])
        for callback in callbacks:
            callback.on_epoch_end(epoch)
    restore(shared.weights[epochs])
    return {name: values[:epochs] for name, values in shared.history.items()}


def train(
    trainer: Trainer,
    data: TrainingSet,
    config: TrainingConfig,
    epochs: int,
    callbacks: list[keras.callbacks.Callback],
) -> History:
    """Fit the trainer's members (see Trainer.fit); while fits are shared (sharing_fits), train
    every epoch of the recipe once per distinct training and replay the epochs asked for. A
    training is kept until the other fit on its windows has used it."""
    if _SHARED is None or not epochs or not len(data):
        return trainer.fit(data, config, epochs, callbacks)
    key = fit_key(data, config)
    if key in _SHARED:  # the second of the two fits on these windows: no third will come
        return replay(trainer, _SHARED.pop(key), epochs, callbacks)
    snapshots = Snapshots(trainer.members)
    history = trainer.fit(data, config, config.epochs, [snapshots])
    _SHARED[key] = SharedFit(snapshots.weights, history)
    return replay(trainer, _SHARED[key], epochs, callbacks)


def trainer_for(config: TrainingConfig) -> Trainer:
    """This process's trainer for the config's architecture, seed and learning rate."""
    key = config.model_dump_json(include=ARCHITECTURE | {"learning_rate"})
    if key not in _TRAINERS:
        _TRAINERS[key] = Trainer(config)
    return _TRAINERS[key]


def input_shapes(config: TrainingConfig) -> list[tuple[int, ...]]:
    """The shapes of one window's network inputs (values, and the calendar features)."""
    shapes = [(config.timestep, 1)]
    if config.scaling == "climatology":
        shapes += [(config.timestep, FEATURES), (config.horizon, FEATURES)]
    return shapes


def choose_correction(gains: np.ndarray, most_steps: int) -> tuple[int, int]:
    """(epochs, steps) from the validation's gains: `gains[e, l, k]` is the mean change in
    absolute error (°C) at forecast step k+1 of location l after e epochs when the correction is
    used (negative: it helps; NaN: not validated). The correction is used for the first K steps
    (K at most `most_steps`) with the largest total gain that exceeds one standard error across
    locations; (0, 0) when no such choice exists."""
    validated = ~np.isnan(gains).all(axis=(0, 1)) & (np.arange(gains.shape[2]) < most_steps)
    totals = np.nancumsum(gains, axis=2)  # (epochs, locations, first K steps)
    mean = totals.mean(axis=1)
    spread = totals.std(axis=1, ddof=1) / math.sqrt(totals.shape[1]) if totals.shape[1] > 1 else 0
    score = np.where((mean < -spread) & validated[None, :], mean, 0.0)
    epochs, last = np.unravel_index(np.argmin(score), score.shape)
    return (int(epochs), int(last) + 1) if score[epochs, last] < 0 else (0, 0)


def rolling_validation(
    known: list[LocationSeries], config: TrainingConfig, label: str, log: Log
) -> Validation:
    """Fit on the windows known `validation_months` before the origin, forecast from each of the
    last `validation_months` origins, score every forecast month known at the origin, and choose
    the epochs and steps of the correction (see the module's docstring)."""
    timestep, horizon, span = config.timestep, config.horizon, config.validation_months
    months = len(known[0])
    start = months - span
    if start < timestep + horizon:
        note = (
            f"{label}: {months} months leave no training window before the {span} validation"
            f" origins (needs {timestep + horizon + span}); the networks' correction is not used"
        )
        return Validation([], 0, 0, 0, note)
    early = [series.until(start) for series in known]
    scalers = [fit_scaler(series, "climatology", config.harmonics) for series in early]
    origins = np.arange(start, months)
    inputs, residuals, spreads = [], [], []
    for series, scaler in zip(known, scalers, strict=True):
        calendar = series.calendar(months + horizon)
        past = origins[:, None] - timestep + np.arange(timestep)
        ahead = origins[:, None] + np.arange(horizon)
        x = scaler.scale(series.values[past], calendar[past])
        padded = np.concatenate([series.values, np.full(horizon, np.nan)])
        inputs.append(network_inputs(x, calendar[past], horizon, config))
        residuals.append(padded[ahead] - scaler.levels[calendar[ahead]])
        spreads.append(scaler.std)
    stacked = [np.concatenate(parts) for parts in zip(*inputs, strict=True)]
    recorder = EpochForecasts(stacked, config.ensemble)
    data = stack([scaled_windows(s, c, config) for s, c in zip(early, scalers, strict=True)])
    train(trainer_for(config), data, config, config.epochs, [recorder])
    shape = (len(known), len(origins), horizon)
    corrections = np.array(recorder.outputs).reshape(-1, *shape) * np.array(spreads)[:, None, None]
    residual = np.array(residuals)
    errors = np.abs(residual[None] - corrections)  # (epochs, locations, origins, steps)
    with warnings.catch_warnings():  # steps no origin validates give NaN, as they should
        warnings.simplefilter("ignore", RuntimeWarning)
        gains = np.nanmean(errors - np.abs(residual)[None], axis=2)
        mae = np.nanmean(errors, axis=(1, 2, 3))
    epochs, steps = choose_correction(gains, config.correction_months)
    as_chosen = np.where(np.arange(horizon) < steps, errors[epochs], np.abs(residual))
    verdict = (
        f"the correction is used for the first {steps} months after {epochs} epochs"
        if steps
        else "the correction does not beat the climatology: it is not used"
    )
    note = (
        f"{label}: rolling validation over {len(origins)} origins, validation MAE"
        f" {np.nanmean(as_chosen):.3f} °C as chosen (climatology {mae[0]:.3f} °C, the"
        f" correction on every month {mae[epochs]:.3f} °C); {verdict}"
    )
    return Validation([float(v) for v in mae], epochs, steps, len(origins), note)


def fit_scalers(
    known: list[LocationSeries], fitting: list[LocationSeries], config: TrainingConfig
) -> list[Scaler]:
    """Climatology on every month known at the origin; standardisation on the training months."""
    source = known if config.scaling == "climatology" else fitting
    return [fit_scaler(series, config.scaling, config.harmonics) for series in source]


def train_networks(
    known: list[LocationSeries],
    fitting: list[LocationSeries],
    scalers: list[Scaler],
    config: TrainingConfig,
    label: str,
    log: Log,
) -> Trained:
    """Choose the epochs (rolling validation) or take them (random), then train."""
    data = stack([scaled_windows(s, c, config) for s, c in zip(fitting, scalers, strict=True)])
    trainer = trainer_for(config)
    if config.validation == "random":
        progress = ProgressLog(label, config.epochs, log)
        history = trainer.fit(data, config, config.epochs, [progress])
        return Trained(trainer.trained_members(), history, len(history["loss"]), config.horizon)
    validation = rolling_validation(known, config, label, log)
    log(validation.note)
    history = train(trainer, data, config, validation.epochs, [])
    return Trained(
        trainer.trained_members(), history, validation.epochs, validation.steps, validation
    )


def fit_group(
    series: list[LocationSeries], origin: int, config: TrainingConfig, label: str, log: Log
) -> GroupFit:
    """Fit one group of locations (trained together) on what was known at `origin` (the number
    of months known): one training at a time in this process."""
    known = [s.until(origin) for s in series]
    gap = test_input_gap(config, len(series[0]) - origin)
    fitting = [s.until(origin - gap) for s in known]
    scalers = fit_scalers(known, fitting, config)
    spread, spreads = calibrate(known, config.horizon, config.harmonics)
    log(f"{label}: {spread.note}")
    with SEEDED_TRAINING:
        start = time.perf_counter()
        trained = train_networks(known, fitting, scalers, config, label, log)
        seconds = (time.perf_counter() - start) / len(series)
    return GroupFit(
        config=config,
        members=trained.members,
        scalers={s.location: scaler for s, scaler in zip(series, scalers, strict=True)},
        origin=origin,
        trained_until=origin - gap,
        history=trained.history,
        epochs=trained.epochs,
        steps=trained.steps,
        seconds=seconds,
        validation=trained.validation,
        spread=spread,
        spreads=spreads,
    )


def test_input_gap(config: TrainingConfig, back: int) -> int:
    """Months kept out of training before a fit's origin `back` months before the end: the test
    window's input months, for the tutorial's split (none for a fit on everything)."""
    return config.timestep if config.train_windows == "before_test" and back else 0


def months_needed(config: TrainingConfig, back: int) -> int:
    """Months a fit `back` months before the end needs: one training window before it (and
    before the test window's input months, for the tutorial's split)."""
    return config.timestep + config.horizon + back + test_input_gap(config, back)


def fit_locations(
    series: list[LocationSeries], config: TrainingConfig, back: int, log: Log
) -> FitRound:
    """Fit every location on what was known `back` months before the end of its series (0: all
    of it) with the configured strategy; a location with too few months, non-finite values or a
    failed training is reported (location -> reason) and does not stop the others."""
    result = FitRound()
    needed = months_needed(config, back)
    usable = []
    for s in series:
        if len(s) < needed:
            result.failures[s.location] = (
                f"too few months for timestep {config.timestep} and horizon {config.horizon}:"
                f" needs {needed}, has {len(s)}"
            )
        elif not np.isfinite(s.values).all():
            result.failures[s.location] = "non-finite values in its monthly series"
        else:
            usable.append(s)
    groups = [usable] if config.strategy == "global" and usable else [[s] for s in usable]
    for number, group in enumerate(groups, start=1):
        label = f"{len(group)} locations" if len(group) > 1 else group[0].location
        if config.strategy == "per_location":
            log(f"training {label} ({number}/{len(groups)})")
        origin = len(group[0]) - back
        try:
            fitted = fit_group(group, origin, config, label, log)
            result.fits.update({s.location: fitted for s in group})
        except Exception as error:  # one group's failure must not stop the others
            reason = f"training failed: {type(error).__name__}: {error}"
            result.failures.update({s.location: reason for s in group})
    return result
