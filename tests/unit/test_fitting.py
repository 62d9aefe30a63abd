"""Fitting: origins and what each fit may see, the tutorial's settings reaching Keras, training
reducing the loss, and seeds that reproduce results whatever runs in other threads."""

from concurrent.futures import ThreadPoolExecutor

import keras
import numpy as np
import pytest

import tasks.model.fitting as fitting_module
import tasks.model.training as training_module
from tasks.data.locations import LocationSeries
from tasks.errors import TempcastError
from tasks.model.evaluation import forecast_from
from tasks.model.fitting import fit_locations
from tasks.model.settings import RECIPES, TrainingOverrides, training_config
from tasks.model.training import epoch_order, epoch_size
from tasks.pipeline.fits import fit_units
from tests.support.tiny import TINY_TRAINING, prepared_table, quiet, series_of


def tiny(**changes):
    return training_config("default", TINY_TRAINING.model_copy(update=changes))


def test_explicit_settings_override_the_recipe_and_bad_ones_are_named():
    config = training_config("article", TrainingOverrides(epochs=3, units=8))
    assert (config.epochs, config.units, config.batch_size) == (3, 8, 1)
    assert training_config("article") == RECIPES["article"]
    with pytest.raises(TempcastError, match="rolling validation needs climatology scaling"):
        training_config("article", TrainingOverrides(validation="rolling"))
    with pytest.raises(TempcastError, match="units: Input should be greater than or equal to 1"):
        training_config("default", TrainingOverrides(units=0))


def test_the_evaluation_fit_never_sees_its_test_months_and_the_production_fit_sees_all():
    series = series_of(prepared_table(months=48))
    config = tiny()
    units = fit_units.fn(series, config)
    warmer = np.r_[np.zeros(45), np.full(3, 5.0)]  # the last months, inside the test window
    changed = [LocationSeries(s.location, s.values + warmer, s.months) for s in series]
    again = fit_units.fn(changed, config)
    for name in ("Alpha", "Bravo"):
        first, second = units.units[name], again.units[name]
        assert (first.evaluation_fit.origin, first.production.origin) == (42, 48)
        assert (
            first.evaluation.metrics["baseline_climatology_mae"]
            != second.evaluation.metrics["baseline_climatology_mae"]
        )
        np.testing.assert_array_equal(first.evaluation.forecast, second.evaluation.forecast)
        assert np.abs(first.forecast - second.forecast).max() > 0.01, (
            "the newest months were ignored"
        )


def test_a_location_too_short_for_a_test_window_still_gets_a_production_fit():
    series = series_of(prepared_table(months=14))  # one window of 6 + 6, no room for a test
    units = fit_units.fn(series, tiny())
    assert not units.failures
    unit = units.units["Alpha"]
    assert unit.evaluation is None and unit.production.origin == 14
    assert unit.note == "test metrics unavailable: a test window needs 18 months, there are 14"


def test_too_few_months_for_one_window_is_a_failure_naming_the_need():
    fitted = fit_locations(series_of(prepared_table(months=10)), tiny(), 0, quiet)
    assert fitted.failures == {
        name: "too few months for timestep 6 and horizon 6: needs 12, has 10"
        for name in ("Alpha", "Bravo")
    }


def test_the_article_recipe_reaches_keras_as_stated_and_does_not_refit(monkeypatch):
    calls = []
    real_fit = keras.Model.fit

    def spy(self, x, *args, **kwargs):
        calls.append({"windows": len(x), **kwargs})
        return real_fit(self, x, *args, **{**kwargs, "epochs": 1})

    monkeypatch.setattr(keras.Model, "fit", spy)
    series = series_of(prepared_table(("Alpha",), months=96))  # the tutorial's 2009-01..2016-12
    config = training_config("article", TrainingOverrides(units=4))
    units = fit_units.fn(series, config)
    (call,) = calls
    assert call["windows"] == 25, "the tutorial trains on 25 windows before its test window"
    assert call["batch_size"] == 1 and call["epochs"] == 1000
    assert call["validation_split"] == 0.2 and call["shuffle"] is True
    unit = units.units["Alpha"]
    assert unit.production is unit.evaluation_fit, "the tutorial does not refit"
    assert (unit.production.origin, unit.production.trained_until) == (78, 60)
    assert unit.evaluation.months[0] == "2015-07" and len(unit.evaluation.months) == 18


def test_a_few_epochs_reduce_the_training_loss():
    series = series_of(prepared_table())
    overrides = TrainingOverrides(epochs=8, timestep=6, horizon=6, units=4, batch_size=16)
    fitted = fit_locations(series, training_config("article", overrides), 0, quiet)
    history = fitted.fits["Alpha"].history["loss"]
    assert not fitted.failures and len(history) == 8
    assert history[-1] < history[0]


def test_the_same_seed_gives_the_same_metrics():
    series = series_of(prepared_table())
    config = tiny(epochs=3, seed=7)

    def test_maes() -> list[float]:
        units = fit_units.fn(series, config)
        return [units.units[s.location].evaluation.metrics["test_mae"] for s in series]

    assert test_maes() == test_maes()


def test_trainings_in_parallel_threads_give_the_same_models_as_one_at_a_time():
    """Flows train locations (and backfill months) in worker threads; the seed alone must
    decide each model, whatever else trains at the same time."""
    series = series_of(prepared_table(("Alpha", "Bravo", "Charlie"), months=40))
    config = training_config("article", TrainingOverrides(epochs=4, units=4, timestep=6, horizon=6))

    def test_forecast(one) -> np.ndarray:
        fit = fit_locations([one], config, 6, quiet).fits[one.location]
        return forecast_from(fit.model(one.location), one, fit.origin)

    one_at_a_time = [test_forecast(one) for one in series]
    with ThreadPoolExecutor(len(series)) as pool:
        in_parallel = list(pool.map(test_forecast, series))
    for alone, together in zip(one_at_a_time, in_parallel, strict=True):
        np.testing.assert_array_equal(alone, together)


def test_the_batched_forecasts_are_those_of_the_standalone_models():
    series = series_of(prepared_table(("Alpha", "Bravo", "Charlie"), months=48))
    for recipe in ("default", "article"):
        config = training_config(
            recipe, TINY_TRAINING.model_copy(update={"epochs": 2, "validation": None})
        )
        units = fit_units.fn(series, config)
        for s in series:
            unit = units.units[s.location]
            alone = forecast_from(unit.production.model(s.location), s, unit.production.origin)
            np.testing.assert_allclose(unit.forecast, alone, rtol=0, atol=1e-4)


def test_forecasts_made_a_few_windows_at_a_time_are_those_made_all_at_once(monkeypatch):
    series = series_of(prepared_table(("Alpha", "Bravo"), months=48))
    fit = fit_units.fn(series, tiny(validation=None)).units["Alpha"].production
    past = np.arange(len(series[0]) - 6)[:, None] + np.arange(6)
    names = [s.location for s in series for _ in past]
    windows = np.concatenate([s.values[past] for s in series])
    calendar = np.concatenate([s.calendar()[past] for s in series])
    at_once = fit.forecast(names, windows, calendar)
    monkeypatch.setattr(fitting_module, "FORECAST_BATCH", 7)
    np.testing.assert_allclose(fit.forecast(names, windows, calendar), at_once, rtol=0, atol=1e-5)
    assert at_once.shape == (len(names), 6)


def test_capped_epochs_use_every_window_once_before_any_again():
    config = tiny(epoch_windows=10, batch_size=5)
    order = epoch_order(25, 60, config)
    assert len(order) == 60
    for start in (0, 25):  # the first two passes hold every window once
        assert sorted(order[start : start + 25]) == list(range(25))
    assert list(order) == list(epoch_order(25, 60, config)), "the seed decides the order"
    assert epoch_size(25, config) == 10 and epoch_size(8, config) == 8
    assert epoch_size(25, tiny(epoch_windows=7, batch_size=5)) == 10  # whole batches
    assert epoch_size(25, RECIPES["article"]) == 25  # no cap


def test_a_capped_epoch_reaches_keras_as_that_many_windows(monkeypatch):
    calls = []
    real_fit = keras.Model.fit

    def spy(self, x, *args, **kwargs):
        calls.append({"windows": len(x[0]), **kwargs})
        return real_fit(self, x, *args, **kwargs)

    monkeypatch.setattr(keras.Model, "fit", spy)
    series = series_of(prepared_table(("Alpha", "Bravo", "Charlie")))
    fitted = fit_locations(series, tiny(epochs=3, epoch_windows=32, batch_size=16), 0, quiet)
    assert not fitted.failures
    for call in calls:  # the rolling validation's fit, then the production fit
        epochs = call["epochs"]
        assert (call["windows"], call["steps_per_epoch"]) == (32 * epochs, 2)
        assert call["shuffle"] is False  # the order is already shuffled, epoch by epoch
    assert len(fitted.fits["Alpha"].validation.mae) == 4  # untrained, then after each epoch


def test_capped_epochs_need_the_rolling_validation():
    with pytest.raises(TempcastError, match="epoch_windows needs rolling validation"):
        training_config("article", TrainingOverrides(epoch_windows=100))


def test_a_backfill_trains_each_distinct_training_once_with_the_same_results(monkeypatch):
    series = series_of(prepared_table(months=60))
    config = tiny(epochs=4)  # validation over 6 origins: the fit as of month 40 and the
    early, later = [s.until(40) for s in series], [s.until(46) for s in series]  # 46's validation

    def fits() -> list:
        return [fit_locations(part, config, 0, quiet).fits["Alpha"] for part in (early, later)]

    alone = fits()
    trainings = []
    original = training_module.Trainer.fit
    monkeypatch.setattr(
        training_module.Trainer,
        "fit",
        lambda self, data, cfg, epochs, callbacks: (
            trainings.append(epochs) or original(self, data, cfg, epochs, callbacks)
        ),
    )
    with training_module.sharing_fits():
        shared = fits()
    assert len(trainings) == 3, trainings  # four trainings, one of them shared
    for one, other in zip(alone, shared, strict=True):
        assert (one.epochs, one.steps, one.history) == (other.epochs, other.steps, other.history)
        # the replayed epochs' forecasts match the live ones to float32 rounding
        assert one.validation.mae == pytest.approx(other.validation.mae, abs=1e-4)
        for a, b in zip(one.members[0].get_weights(), other.members[0].get_weights(), strict=True):
            np.testing.assert_array_equal(a, b)
