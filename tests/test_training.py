"""Model shapes, training reduces loss, recipes reach Keras as stated, seeds reproduce results."""

from concurrent.futures import ThreadPoolExecutor

import keras
import numpy as np
import pandas as pd
import pytest

from tasks.config import TrainingOverrides, training_config
from tasks.datasets import LocationData, location_data
from tasks.evaluation import evaluate_location
from tasks.model import Scaler, build_network, location_model, predict
from tasks.months import month_range
from tasks.prepared import Prepared
from tasks.training import train_all


def prepared_table(locations=("Alpha", "Bravo"), months=60, seed=0) -> Prepared:
    """A small complete monthly table with a yearly cycle per location."""
    rng = np.random.default_rng(seed)
    labels = month_range("2009-01", "2030-12")[:months]
    cycle = 8 * np.cos(2 * np.pi * np.arange(months) / 12)
    rows = {
        name: 15 + i * 3 + cycle + rng.normal(0, 0.5, months) for i, name in enumerate(locations)
    }
    table = pd.DataFrame(rows, index=labels).T
    table.index.name = "Location"
    return Prepared(
        table=table, mask=table.isna(), rejects=pd.DataFrame(), report={"data_digest": "x"}
    )


def quiet(_: str) -> None:
    """Discard progress lines."""


@pytest.mark.parametrize(("timestep", "horizon"), [(18, 18), (12, 6), (6, 12)])
def test_network_and_location_model_shapes(timestep, horizon):
    network = build_network(timestep, horizon, units=4)
    model = location_model([network, network], standard(15.0, 5.0), timestep, horizon)
    assert model.input_shape == (None, timestep, 1)
    assert model.output_shape == (None, horizon, 1)
    assert predict(model, np.zeros((3, timestep, 1))).shape == (3, horizon)


def standard(mean: float, std: float) -> Scaler:
    """A standardising scaler."""
    return Scaler(levels=np.full(12, mean), std=std)


def test_location_model_works_in_degrees_whatever_the_scaling():
    network = build_network(4, 2, units=2)
    scaler = standard(20.0, 4.0)
    raw = np.full((1, 4, 1), 24.0, dtype=np.float32)
    wrapped = predict(location_model([network], scaler, 4, 2), raw)
    months = np.zeros((1, 4), dtype=int)
    inner = predict(network, scaler.scale(raw[..., 0], months)[..., None])
    assert wrapped == pytest.approx(scaler.unscale(inner, months[:, :2]), abs=1e-5)


def test_a_few_epochs_reduce_the_training_loss():
    prepared = prepared_table()
    config = training_config(
        "default", TrainingOverrides(epochs=8, patience=None, timestep=6, horizon=6)
    )
    data = [location_data(prepared, name, 6, 6) for name in prepared.locations]
    trained, failures = train_all(data, config, quiet)
    history = trained["Alpha"].history["loss"]
    assert not failures and len(history) == 8
    assert history[-1] < history[0]


def test_the_article_recipe_reaches_keras_as_stated(monkeypatch):
    calls = []
    real_fit = keras.Model.fit

    def spy(self, *args, **kwargs):
        calls.append(kwargs.copy())
        return real_fit(self, *args, **{**kwargs, "epochs": 1})

    monkeypatch.setattr(keras.Model, "fit", spy)
    prepared = prepared_table(("Alpha",), months=40)
    config = training_config("article", TrainingOverrides(timestep=6, horizon=6))
    train_all([location_data(prepared, "Alpha", 6, 6)], config, quiet)
    (call,) = calls
    assert call["batch_size"] == 1 and call["epochs"] == 1000
    assert call["validation_split"] == 0.2 and call["shuffle"] is True
    assert not any(isinstance(c, keras.callbacks.EarlyStopping) for c in call["callbacks"])


def test_explicit_settings_override_the_recipe():
    config = training_config("article", TrainingOverrides(epochs=3, units=8))
    assert (config.epochs, config.units, config.batch_size) == (3, 8, 1)


def test_the_same_seed_gives_the_same_metrics():
    prepared = prepared_table()
    config = training_config("default", TrainingOverrides(epochs=3, timestep=6, horizon=6, seed=7))
    data = [location_data(prepared, name, 6, 6) for name in prepared.locations]

    def test_maes() -> list[float]:
        trained, _ = train_all(data, config, quiet)
        return [
            evaluate_location(
                d,
                predict(trained[d.location].model, d.split.test.x)[-1],
                predict(trained[d.location].model, d.split.train.x),
            ).metrics["test_mae"]
            for d in data
        ]

    assert test_maes() == test_maes()


def test_trainings_in_parallel_threads_give_the_same_models_as_one_at_a_time():
    """Flows train locations (and backfill months) in worker threads; the seed alone must
    decide each model, whatever else trains at the same time."""
    prepared = prepared_table(("Alpha", "Bravo", "Charlie"), months=40)
    config = training_config("article", TrainingOverrides(epochs=4, units=4, timestep=6, horizon=6))
    data = [location_data(prepared, name, 6, 6) for name in prepared.locations]

    def test_forecasts(location: LocationData) -> np.ndarray:
        trained, _ = train_all([location], config, quiet)
        return predict(trained[location.location].model, location.split.test.x)

    one_at_a_time = [test_forecasts(location) for location in data]
    with ThreadPoolExecutor(len(data)) as pool:
        in_parallel = list(pool.map(test_forecasts, data))
    for alone, together in zip(one_at_a_time, in_parallel, strict=True):
        np.testing.assert_array_equal(alone, together)
