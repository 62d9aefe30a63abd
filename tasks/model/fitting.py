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

import dataclasses
import math
import time
import warnings
from dataclasses import dataclass, field

import keras
import numpy as np

from tasks.data.locations import LocationSeries
from tasks.model.climatology import Scaler, fit_scaler
from tasks.model.network import (
    location_model,
    months_after,
    point_at,
)
from tasks.model.settings import TrainingConfig
from tasks.model.training import (
    SEEDED_TRAINING,
    EpochForecasts,
    History,
    Log,
    ProgressLog,
    copy_networks,
    network_inputs,
    scaled_windows,
    stack,
    train,
    trainer_for,
)
from tasks.model.uncertainty import Distribution, LocationSpread, Spread, calibrate, distribution

# Windows the networks forecast at once: a thousand locations' training windows in one call
# took 1.7 GB more memory than the rest of a retrain's peak.
FORECAST_BATCH = 4096


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
