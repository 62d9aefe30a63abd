"""Training: fit the networks for many locations at once, or one location at a time (the recipe).

`global` trains one set of networks on every location's scaled windows (many locations in one
graph, large batches) and wraps it per location; `per_location` trains networks per location,
as the original recipe does. An ensemble's members are trained jointly in one graph. Either
way each location ends with its own standalone model, so tracking and registry stay one model
per location.
"""

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from tasks.baselines import calendar_months
from tasks.config import TrainingConfig
from tasks.datasets import LocationData
from tasks.model import Scaler, build_network, fit_scaler, location_model
from tasks.windows import Windows

Log = Callable[[str], None]
History = dict[str, list[float]]


# TensorFlow's and Keras' random state is global to the process: two threads seeding and
# training at once would draw from each other's sequence, so seeded training takes turns.
SEEDED_TRAINING = threading.Lock()


class TrainingDiverged(RuntimeError):
    """The loss became non-finite."""


@dataclass(frozen=True)
class TrainedModel:
    """A location's standalone model (°C in, °C out) and how it was trained."""

    location: str
    model: keras.Model
    history: History
    train_seconds: float
    scaler: Scaler
    epochs: int = 0


@dataclass(frozen=True)
class TrainingSet:
    """Scaled training windows and validation windows (validation may be empty).

    `spread` is each validation window's °C per scaled unit and `owner` its location's index,
    so that validation errors can be reported per location in °C.
    """

    x: np.ndarray
    y: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    spread: np.ndarray
    owner: np.ndarray


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


class EpochErrors(keras.callbacks.Callback):
    """Validation errors before training and after every epoch, for choosing the epoch count:
    per location MAE in °C (rows: epochs 0..n) and the scaled MSE (Keras' val_loss)."""

    def __init__(self, data: TrainingSet, members: int) -> None:
        super().__init__()
        self.data, self.members = data, members
        self.mae: list[np.ndarray] = []
        self.mse: list[float] = []

    def record(self) -> None:
        outputs = np.asarray(self.model(self.data.x_val, training=False))
        forecast = outputs.reshape(*outputs.shape[:2], self.members).mean(axis=-1)
        error = forecast - self.data.y_val[..., 0]
        degrees = np.abs(error).mean(axis=1) * self.data.spread
        locations = np.bincount(self.data.owner, weights=degrees) / np.bincount(self.data.owner)
        self.mae.append(locations)
        self.mse.append(float(np.mean(error**2)))

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.record()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        self.record()


def set_seed(seed: int) -> None:
    """Fix every random source (Python, NumPy, TensorFlow) and make TensorFlow ops deterministic."""
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def choose_epochs(errors: np.ndarray) -> int:
    """The fewest epochs whose mean validation error is within one standard error of the best.

    `errors` holds one row per epoch count (row 0: untrained) and one column per location; the
    standard error is that of the per-location differences from the best row.
    """
    means = errors.mean(axis=1)
    best = int(np.argmin(means))
    for epochs in range(best + 1):
        difference = errors[epochs] - errors[best]
        spread = difference.std(ddof=1) / math.sqrt(len(difference)) if len(difference) > 1 else 0
        if difference.mean() <= spread:
            return epochs
    return best


def scaler_for(data: LocationData, config: TrainingConfig) -> Scaler:
    """Standardisation on the training months; climatology on every month known at the origin."""
    end = data.forecast_origin if config.scaling == "climatology" else data.test_start
    return fit_scaler(data.series[:end], data.months[0], config.scaling, config.harmonics)


def scaled(windows: Windows, data: LocationData, scaler: Scaler) -> tuple[np.ndarray, np.ndarray]:
    """A location's windows in scaled units, each value with its own calendar month."""
    calendar = calendar_months(data.months[0], len(data.series))
    timestep, horizon = windows.x.shape[1], windows.y.shape[1]
    x_months = calendar[windows.starts[:, None] + np.arange(timestep)]
    y_months = calendar[windows.starts[:, None] + timestep + np.arange(horizon)]
    return (
        scaler.scale(windows.x[..., 0], x_months)[..., None],
        scaler.scale(windows.y[..., 0], y_months)[..., None],
    )


def validation_count(windows: int, config: TrainingConfig) -> tuple[int, int]:
    """How many of a location's windows to fit on, and how many (the latest) to validate on."""
    if config.validation == "latest":
        held = min(config.validation_windows, windows - 1)
        return windows - held, held
    if config.validation == "holdout":
        # fit only on windows whose targets end before the held-out window's targets begin
        return max(0, windows - config.horizon), 1
    return windows, 0


def training_set(
    datasets: list[LocationData],
    scalers: list[Scaler],
    config: TrainingConfig,
    validate: bool = True,
) -> TrainingSet:
    """Stack the locations' scaled windows, holding out validation windows as the config says
    (none when `validate` is False: the final fit uses every window)."""
    parts: dict[str, list[np.ndarray]] = {
        n: [] for n in ("x", "y", "x_val", "y_val", "spread", "owner")
    }
    for number, (data, scaler) in enumerate(zip(datasets, scalers, strict=True)):
        x, y = scaled(data.split.train, data, scaler)
        fit, held = validation_count(len(x), config) if validate else (len(x), 0)
        parts["x"].append(x[:fit])
        parts["y"].append(y[:fit])
        parts["x_val"].append(x[len(x) - held :])
        parts["y_val"].append(y[len(y) - held :])
        parts["spread"].append(np.full(held, scaler.std))
        parts["owner"].append(np.full(held, number))
    arrays = {name: np.concatenate(values) for name, values in parts.items()}
    return TrainingSet(
        x=arrays["x"].astype(np.float32),
        y=arrays["y"].astype(np.float32),
        x_val=arrays["x_val"].astype(np.float32),
        y_val=arrays["y_val"].astype(np.float32),
        spread=arrays["spread"],
        owner=arrays["owner"].astype(int),
    )


def build_members(config: TrainingConfig) -> list[keras.Model]:
    """The ensemble's networks, freshly initialised from the config's seed."""
    set_seed(config.seed)
    return [
        build_network(
            config.timestep,
            config.horizon,
            config.units,
            config.dropout,
            config.zero_head,
            f"member_{k}",
        )
        for k in range(config.ensemble)
    ]


def fit_members(
    members: list[keras.Model],
    data: TrainingSet,
    config: TrainingConfig,
    epochs: int,
    callbacks: list[keras.callbacks.Callback],
) -> History:
    """Fit all members jointly in one graph (each against the same targets); returns the
    per-epoch history. A non-finite loss stops training and raises TrainingDiverged."""
    inputs = keras.Input((config.timestep, 1))
    outputs = [member(inputs) for member in members]
    joint = keras.Model(
        inputs, keras.layers.Concatenate()(outputs) if len(outputs) > 1 else outputs[0]
    )
    joint.compile(
        optimizer=keras.optimizers.Adam(learning_rate=config.learning_rate),
        loss="mse",
        metrics=["mse", "mae"],
    )
    targets = np.repeat(data.y, len(members), axis=-1)
    validation: dict = (
        {"validation_split": config.validation_split} if config.validation == "random" else {}
    )
    if config.validation == "latest" and len(data.x_val):
        validation = {"validation_data": (data.x_val, np.repeat(data.y_val, len(members), axis=-1))}
    monitor = "val_loss" if validation else "loss"
    callbacks = [*callbacks, keras.callbacks.TerminateOnNaN()]
    if config.patience:
        callbacks.append(
            keras.callbacks.EarlyStopping(
                monitor=monitor, patience=config.patience, restore_best_weights=True
            )
        )
    history = joint.fit(
        data.x,
        targets,
        batch_size=config.batch_size,
        epochs=epochs,
        shuffle=config.shuffle,
        verbose=0,
        callbacks=callbacks,
        **validation,
    ).history
    if not np.all(np.isfinite(history.get("loss", [0.0]))):
        raise TrainingDiverged("the training loss became non-finite")
    return {name: [float(v) for v in values] for name, values in history.items()}


def train_networks(
    datasets: list[LocationData],
    scalers: list[Scaler],
    config: TrainingConfig,
    label: str,
    log: Log,
) -> tuple[list[keras.Model], History, int, float]:
    """Train the ensemble on these locations, one training at a time in this process so that
    the seed alone decides the result; returns the members, the history to report, the number
    of epochs the members were finally trained for, and the seconds it took (not counting the
    wait for another training)."""
    with SEEDED_TRAINING:
        start = time.perf_counter()
        members, history, epochs = seeded_training(datasets, scalers, config, label, log)
        return members, history, epochs, time.perf_counter() - start


def seeded_training(
    datasets: list[LocationData],
    scalers: list[Scaler],
    config: TrainingConfig,
    label: str,
    log: Log,
) -> tuple[list[keras.Model], History, int]:
    """Seed, then train the ensemble (see `train_networks`)."""
    if config.validation != "holdout":
        members = build_members(config)
        progress = ProgressLog(label, config.epochs, log)
        history = fit_members(
            members, training_set(datasets, scalers, config), config, config.epochs, [progress]
        )
        return members, history, len(history.get("loss", []))
    selection = training_set(datasets, scalers, config)
    if not len(selection.x):
        log(f"{label}: no window ends before the holdout window; the networks stay untrained")
        return build_members(config), {"loss": [], "val_loss": []}, 0
    errors = EpochErrors(selection, config.ensemble)
    progress = ProgressLog(label, config.epochs, log)
    history = fit_members(
        build_members(config), selection, config, config.epochs, [errors, progress]
    )
    epochs = choose_epochs(np.array(errors.mae))
    mae = np.array(errors.mae).mean(axis=1)
    log(
        f"{label}: holdout chose {epochs} of {config.epochs} epochs (validation MAE"
        f" {mae[epochs]:.3f} °C; untrained {mae[0]:.3f} °C, best {mae.min():.3f} °C)"
    )
    members = build_members(config)
    if epochs:
        fit_members(
            members, training_set(datasets, scalers, config, validate=False), config, epochs, []
        )
    return members, {"loss": history["loss"], "val_loss": errors.mse[1:]}, epochs


def train_together(
    datasets: list[LocationData], config: TrainingConfig, log: Log
) -> list[TrainedModel]:
    """One ensemble for all locations, wrapped per location with its own scaler."""
    scalers = [scaler_for(data, config) for data in datasets]
    members, history, epochs, seconds = train_networks(
        datasets, scalers, config, f"{len(datasets)} locations", log
    )
    seconds /= len(datasets)
    return [
        TrainedModel(
            data.location,
            location_model(members, scaler, config.timestep, config.horizon),
            history,
            seconds,
            scaler,
            epochs,
        )
        for data, scaler in zip(datasets, scalers, strict=True)
    ]


def train_alone(data: LocationData, config: TrainingConfig, log: Log) -> TrainedModel:
    """One ensemble for one location, as the recipe does."""
    scaler = scaler_for(data, config)
    members, history, epochs, seconds = train_networks([data], [scaler], config, data.location, log)
    model = location_model(members, scaler, config.timestep, config.horizon)
    return TrainedModel(data.location, model, history, seconds, scaler, epochs)


def train_all(
    datasets: list[LocationData], config: TrainingConfig, log: Log
) -> tuple[dict[str, TrainedModel], dict[str, str]]:
    """Train every location with the configured strategy; a location whose data or training
    fails is reported (location -> reason) and does not stop the others."""
    failures = {
        data.location: "non-finite values in its monthly series"
        for data in datasets
        if not np.isfinite(data.series).all()
    }
    usable = [data for data in datasets if data.location not in failures]
    if not usable:
        return {}, failures
    if config.strategy == "global":
        try:
            return {
                trained.location: trained for trained in train_together(usable, config, log)
            }, failures
        except TrainingDiverged as error:
            return {}, {
                **failures,
                **{data.location: f"training failed: {error}" for data in usable},
            }
    trained = {}
    for number, data in enumerate(usable, start=1):
        log(f"training {data.location} ({number}/{len(usable)})")
        try:
            trained[data.location] = train_alone(data, config, log)
        except Exception as error:  # one location's failure must not stop the others
            failures[data.location] = f"training failed: {type(error).__name__}: {error}"
    return trained, failures


@task(name="train", cache_policy=NO_CACHE)
def train_models(
    datasets: list[LocationData], config: TrainingConfig
) -> tuple[dict[str, TrainedModel], dict[str, str]]:
    """Prefect task: train every location, logging progress to the run log."""
    return train_all(datasets, config, get_run_logger().info)


@task(name="train-location", cache_policy=NO_CACHE)
def train_location(data: LocationData, config: TrainingConfig) -> TrainedModel:
    """Prefect task: train one location on its own (the per_location strategy)."""
    trained, failures = train_all([data], config, get_run_logger().info)
    if data.location in failures:
        raise RuntimeError(failures[data.location])
    return trained[data.location]
