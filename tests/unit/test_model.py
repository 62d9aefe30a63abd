"""The networks and location models: shapes, scaling in degrees, the calendar model's climatology
and gating, odd symmetry, the safe-mode round trip, and the choice of the correction."""

import keras
import numpy as np
import pytest

from tasks.data.locations import LocationSeries
from tasks.data.months import calendar_months, month_range
from tasks.model.climatology import Scaler, fit_scaler, harmonic_climatology
from tasks.model.fitting import choose_correction
from tasks.model.network import build_network, calendar_features, location_model, predict
from tasks.model.settings import TrainingOverrides, training_config


def seasonal_series(months: int = 96, seed: int = 0) -> LocationSeries:
    """A monthly series from 2009-01 with a strong, asymmetric yearly cycle and a little noise."""
    t = np.arange(months)
    rng = np.random.default_rng(seed)
    cycle = 15 + 7 * np.cos(2 * np.pi * (t - 0.5) / 12) + 1.5 * np.sin(4 * np.pi * t / 12)
    labels = month_range("2009-01", "2030-12")[:months]
    return LocationSeries("Alpha", cycle + rng.normal(0, 0.3, months), labels)


def config(**changes):
    return training_config("default", TrainingOverrides(units=4, **changes))


def test_harmonic_climatology_recovers_a_two_harmonic_cycle():
    calendar = calendar_months("2009-01", 48)
    cycle = 10 + 5 * np.cos(2 * np.pi * calendar / 12) - 2 * np.sin(4 * np.pi * calendar / 12)
    fitted = harmonic_climatology(cycle, calendar, harmonics=2)
    assert fitted[calendar[:12]] == pytest.approx(cycle[:12], abs=1e-9)


@pytest.mark.parametrize(("timestep", "horizon"), [(18, 18), (12, 6), (6, 12)])
def test_tutorial_network_and_location_model_shapes(timestep, horizon):
    settings = training_config(
        "article", TrainingOverrides(timestep=timestep, horizon=horizon, units=4)
    )
    network = build_network(settings)
    model = location_model([network, network], Scaler(np.full(12, 15.0), 5.0), settings, horizon)
    assert model.input_shape == (None, timestep, 1)
    assert model.output_shape == (None, horizon, 1)
    assert predict(model, np.zeros((3, timestep)), np.zeros((3, timestep), int)).shape == (
        3,
        horizon,
    )


def test_a_standardised_location_model_works_in_degrees():
    settings = training_config("article", TrainingOverrides(timestep=4, horizon=2, units=2))
    network = build_network(settings)
    scaler = Scaler(levels=np.full(12, 20.0), std=4.0)
    raw = np.full((1, 4), 24.0)
    months = np.zeros((1, 4), dtype=int)
    wrapped = predict(location_model([network], scaler, settings, 2), raw, months)
    inner = np.asarray(network(scaler.scale(raw, months)[..., None].astype(np.float32)))[..., 0]
    assert wrapped == pytest.approx(scaler.unscale(inner, months[:, :2]), abs=1e-5)


@pytest.mark.parametrize("offset", [0.0, 2.5, -2.5])
def test_an_untrained_calendar_model_forecasts_the_climatology_of_the_right_months(offset):
    series = seasonal_series()
    settings = config()
    scaler = fit_scaler(series, "climatology")
    model = location_model([build_network(settings)], scaler, settings, steps=18)
    calendar = series.calendar(len(series) + 18)
    starts = np.arange(12)  # one window beginning in every calendar month
    windows = np.stack([series.values[s : s + 18] for s in starts]) + offset
    months = np.stack([calendar[s : s + 18] for s in starts])
    forecast = predict(model, windows, months)
    expected = scaler.levels[calendar[starts[:, None] + 18 + np.arange(18)]]
    assert forecast == pytest.approx(expected, abs=1e-4)


def test_the_calendar_network_is_odd_in_the_anomalies():
    settings = config(timestep=6, horizon=4)
    network = build_network(settings)
    for weight in network.weights:  # give every weight, the zero head too, random values
        weight.assign(np.random.default_rng(1).normal(0, 0.5, weight.shape))
    anomaly = np.random.default_rng(2).normal(0, 1, (5, 6, 1)).astype(np.float32)
    calendar = calendar_months("2010-03", 10)
    inputs = [
        calendar_features(np.tile(calendar[:6], (5, 1))),
        calendar_features(np.tile(calendar[6:], (5, 1))),
    ]
    positive = np.asarray(network([anomaly, *inputs]))
    negative = np.asarray(network([-anomaly, *inputs]))
    assert np.abs(positive).max() > 1e-3
    assert positive == pytest.approx(-negative, abs=1e-6)
    assert np.asarray(network([0 * anomaly, *inputs])) == pytest.approx(0, abs=1e-7)


def test_the_correction_is_used_only_for_the_chosen_steps():
    series = seasonal_series()
    settings = config(timestep=6, horizon=5)
    network = build_network(settings)
    for weight in network.weights:
        weight.assign(np.random.default_rng(3).normal(0, 0.5, weight.shape))
    scaler = fit_scaler(series, "climatology")
    window, months = series.values[None, 40:46] + 3.0, series.calendar()[None, 40:46]
    climatology = predict(location_model([network], scaler, settings, steps=0), window, months)
    gated = predict(location_model([network], scaler, settings, steps=2), window, months)
    assert np.abs(gated - climatology)[0, :2].min() > 1e-4
    assert gated[0, 2:] == pytest.approx(climatology[0, 2:], abs=1e-6)


def test_the_calendar_model_loads_in_safe_mode_with_identical_forecasts(tmp_path):
    series = seasonal_series()
    settings = config(ensemble=2)
    members = [build_network(settings, f"member_{k}") for k in range(2)]
    model = location_model(members, fit_scaler(series, "climatology"), settings, steps=3)
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras", safe_mode=True, compile=False)
    window, months = series.values[None, :18], series.calendar()[None, :18]
    assert predict(loaded, window, months) == pytest.approx(predict(model, window, months), abs=0)


def gains(*per_step: list[float], locations: int = 4, spread: float = 0.0) -> np.ndarray:
    """Validation gains shaped (epochs, locations, steps) from per-epoch step means."""
    rng = np.random.default_rng(0)
    base = np.array(per_step)[:, None, :]
    return base + rng.normal(0, spread, (len(per_step), locations, base.shape[2]))


@pytest.mark.parametrize(
    ("table", "chosen"),
    [
        (gains([0, 0, 0], [-0.1, -0.05, 0.2], [-0.2, -0.1, 0.3]), (2, 2)),  # helps early on
        (gains([0, 0, 0], [0.1, 0.1, 0.1]), (0, 0)),  # training only hurts
        (gains([0, 0, 0], [-0.01, 0, 0], spread=0.5), (0, 0)),  # gains within the noise
        (gains([0, 0, 0], [-0.1, -0.1, -0.1]), (1, 3)),  # helps everywhere
    ],
)
def test_the_correction_is_chosen_where_it_clearly_helps(table, chosen):
    assert choose_correction(table, most_steps=3) == chosen


def test_steps_no_origin_validated_or_beyond_the_limit_are_never_chosen():
    table = gains([0, 0, 0], [-0.1, -0.1, -0.1])
    assert choose_correction(table, most_steps=1) == (1, 1)
    table[:, :, 2] = np.nan
    assert choose_correction(table, most_steps=3) == (1, 2)
