"""The seasonal (climatology-anchored) model: phase found from the input alone, safe-mode
round trip, harmonic climatology, and the epoch choice of the holdout validation."""

import keras
import numpy as np
import pytest

from tasks.baselines import calendar_months
from tasks.model import build_network, fit_scaler, harmonic_climatology, location_model, predict
from tasks.training import choose_epochs


def seasonal_series(months: int = 96, seed: int = 0) -> np.ndarray:
    """A monthly series with a strong, asymmetric yearly cycle and a little noise."""
    t = np.arange(months)
    rng = np.random.default_rng(seed)
    cycle = 15 + 7 * np.cos(2 * np.pi * (t - 0.5) / 12) + 1.5 * np.sin(4 * np.pi * t / 12)
    return cycle + rng.normal(0, 0.3, months)


def test_harmonic_climatology_recovers_a_two_harmonic_cycle():
    calendar = calendar_months("2009-01", 48)
    cycle = 10 + 5 * np.cos(2 * np.pi * calendar / 12) - 2 * np.sin(4 * np.pi * calendar / 12)
    fitted = harmonic_climatology(cycle, calendar, harmonics=2)
    assert fitted[calendar[:12]] == pytest.approx(cycle[:12], abs=1e-9)


@pytest.mark.parametrize("offset", [0.0, 2.5, -2.5])
def test_an_untrained_seasonal_model_forecasts_the_climatology_at_every_phase(offset):
    series = seasonal_series()
    scaler = fit_scaler(series, "2009-01", "climatology")
    networks = [build_network(18, 18, units=4, zero_head=True)]
    model = location_model(networks, scaler, 18, 18)
    calendar = calendar_months("2009-01", len(series))
    starts = np.arange(12)  # one window beginning in every calendar month
    windows = np.stack([series[s : s + 18] for s in starts]) + offset
    forecast = predict(model, windows[..., None])
    expected = scaler.levels[calendar[starts[:, None] + 18 + np.arange(18)]]
    assert forecast == pytest.approx(expected, abs=1e-3)


def test_the_seasonal_model_loads_in_safe_mode_with_identical_forecasts(tmp_path):
    series = seasonal_series()
    model = location_model(
        [build_network(18, 18, units=4, name=f"member_{k}") for k in range(2)],
        fit_scaler(series, "2009-01", "climatology"),
        18,
        18,
    )
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras", safe_mode=True, compile=False)
    x = series[:18].reshape(1, 18, 1)
    assert predict(loaded, x) == pytest.approx(predict(model, x), abs=0)


@pytest.mark.parametrize(
    ("errors", "chosen"),
    [
        ([[1.0, 1.0, 1.0], [0.5, 0.6, 0.4], [0.4, 0.5, 0.3]], 2),  # clear, consistent gains
        ([[1.0, 1.0, 1.0], [0.7, 1.3, 0.95], [0.6, 1.4, 0.9]], 0),  # gains within the noise
        ([[1.0, 0.9], [1.2, 1.1]], 0),  # training only hurts
        ([[1.0, 1.0, 1.0], [0.5, 0.5, 0.5], [0.49, 0.5, 0.51]], 1),  # later epochs add nothing
    ],
)
def test_the_fewest_epochs_within_one_standard_error_of_the_best_are_chosen(errors, chosen):
    assert choose_epochs(np.array(errors)) == chosen
