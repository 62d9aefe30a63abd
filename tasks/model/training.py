"""Training the networks: windows scaled into network inputs, the epoch order, the Trainer (one
traced training step per process, seeded runs taking turns), and fits shared between identical
trainings (sharing_fits: a backfill's origins often train the same networks on the same data).
"""

import contextlib
import hashlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import keras
import numpy as np
import tensorflow as tf

from tasks.data.locations import LocationSeries
from tasks.data.windows import make_windows
from tasks.model.climatology import Scaler
from tasks.model.network import (
    FEATURES,
    build_network,
    calendar_features,
    months_after,
)
from tasks.model.settings import TrainingConfig

Log = Callable[[str], None]
History = dict[str, list[float]]

SEEDED_TRAINING = threading.Lock()


class TrainingDiverged(RuntimeError):
    """The loss became non-finite."""


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
