"""Training: fit the networks for many locations at once, or one location at a time (the recipe).

`global` trains one network on every location's standardised windows (many locations in one
graph, full use of large batches) and wraps it per location; `per_location` trains one network
per location, as the original recipe does. Either way each location ends with its own standalone
model, so tracking and registry stay one model per location.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf
from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from tasks.config import TrainingConfig
from tasks.datasets import LocationData
from tasks.model import Scaler, build_network, fit_scaler, location_model

Log = Callable[[str], None]


@dataclass(frozen=True)
class TrainedModel:
    """A location's standalone model (°C in, °C out) and how it was trained."""

    location: str
    model: keras.Model
    history: dict[str, list[float]]
    train_seconds: float
    scaler: Scaler


@dataclass(frozen=True)
class TrainingSet:
    """Scaled training and validation arrays (validation may be empty)."""

    x: np.ndarray
    y: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray


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


def set_seed(seed: int) -> None:
    """Fix every random source (Python, NumPy, TensorFlow) and make TensorFlow ops deterministic."""
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def training_set(
    datasets: list[LocationData], scalers: list[Scaler], config: TrainingConfig
) -> TrainingSet:
    """Stack the locations' scaled training windows; with `latest` validation, hold out each
    location's most recent `validation_windows` windows."""
    held = config.validation_windows if config.validation == "latest" else 0
    parts: dict[str, list[np.ndarray]] = {"x": [], "y": [], "x_val": [], "y_val": []}
    for data, scaler in zip(datasets, scalers, strict=True):
        x, y = scaler.scale(data.split.train.x), scaler.scale(data.split.train.y)
        cut = len(x) - min(held, len(x) - 1) if held else len(x)
        parts["x"].append(x[:cut])
        parts["y"].append(y[:cut])
        parts["x_val"].append(x[cut:])
        parts["y_val"].append(y[cut:])
    return TrainingSet(
        **{name: np.concatenate(arrays).astype(np.float32) for name, arrays in parts.items()}
    )


def fit_network(
    network: keras.Model, data: TrainingSet, config: TrainingConfig, label: str, log: Log
) -> dict[str, list[float]]:
    """Compile and fit one network as the config says; returns the per-epoch history."""
    network.compile(
        optimizer=keras.optimizers.Adam(learning_rate=config.learning_rate),
        loss="mse",
        metrics=["mse", "mae"],
    )
    if len(data.x_val):
        validation = {"validation_data": (data.x_val, data.y_val)}
    else:
        validation = {"validation_split": config.validation_split}
    monitor = "val_loss" if len(data.x_val) or config.validation_split > 0 else "loss"
    callbacks: list[keras.callbacks.Callback] = [
        ProgressLog(label, config.epochs, log),
        keras.callbacks.TerminateOnNaN(),
    ]
    if config.patience:
        callbacks.append(
            keras.callbacks.EarlyStopping(
                monitor=monitor, patience=config.patience, restore_best_weights=True
            )
        )
    history = network.fit(
        data.x,
        data.y,
        batch_size=config.batch_size,
        epochs=config.epochs,
        shuffle=config.shuffle,
        verbose=0,
        callbacks=callbacks,
        **validation,
    )
    return {name: [float(v) for v in values] for name, values in history.history.items()}


def fit_ensemble(
    data: TrainingSet, config: TrainingConfig, label: str, log: Log
) -> tuple[list[keras.Model], dict[str, list[float]]]:
    """Fit `config.ensemble` networks from consecutive seeds; the history is the first one's."""
    networks, histories = [], []
    for member in range(config.ensemble):
        set_seed(config.seed + member)
        network = build_network(
            config.timestep, config.horizon, config.units, name=f"network_{member}"
        )
        member_label = (
            label if config.ensemble == 1 else f"{label} (member {member + 1}/{config.ensemble})"
        )
        histories.append(fit_network(network, data, config, member_label, log))
        networks.append(network)
    return networks, histories[0]


def train_together(
    datasets: list[LocationData], config: TrainingConfig, log: Log
) -> list[TrainedModel]:
    """One network (or ensemble) for all locations, wrapped per location with its own scaler."""
    scalers = [fit_scaler(data.series[: data.test_start], config.scaling) for data in datasets]
    start = time.perf_counter()
    networks, history = fit_ensemble(
        training_set(datasets, scalers, config), config, f"{len(datasets)} locations", log
    )
    seconds = (time.perf_counter() - start) / len(datasets)
    return [
        TrainedModel(
            data.location,
            location_model(networks, scaler, config.timestep),
            history,
            seconds,
            scaler,
        )
        for data, scaler in zip(datasets, scalers, strict=True)
    ]


def train_alone(data: LocationData, config: TrainingConfig, log: Log) -> TrainedModel:
    """One network (or ensemble) for one location, as the recipe does."""
    scaler = fit_scaler(data.series[: data.test_start], config.scaling)
    start = time.perf_counter()
    networks, history = fit_ensemble(
        training_set([data], [scaler], config), config, data.location, log
    )
    seconds = time.perf_counter() - start
    return TrainedModel(
        data.location, location_model(networks, scaler, config.timestep), history, seconds, scaler
    )


def train_all(
    datasets: list[LocationData], config: TrainingConfig, log: Log
) -> tuple[dict[str, TrainedModel], dict[str, str]]:
    """Train every location with the configured strategy; a location whose own training fails
    is reported (location -> reason) and does not stop the others."""
    if not datasets:
        return {}, {}
    if config.strategy == "global":
        return {trained.location: trained for trained in train_together(datasets, config, log)}, {}
    trained, failures = {}, {}
    for number, data in enumerate(datasets, start=1):
        log(f"training {data.location} ({number}/{len(datasets)})")
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
