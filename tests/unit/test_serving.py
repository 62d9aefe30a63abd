"""The registered model's pyfunc (tasks/tracking/serving.py): its signature names the forecast's
quantiles and chance of a warmer-than-median month, and it gives exactly tempcast's distribution
for the same forecast; a model logged before distributions still forecasts."""

import json
from pathlib import Path

import keras
import mlflow
import numpy as np
import pandas as pd
import pytest

from tasks.model.uncertainty import LEVELS, QUANTILE_COLUMNS, calibrate, distribution
from tasks.publish.forecasts import FORECAST_COLUMNS, forecast_frame
from tasks.tracking import serving
from tasks.tracking.models import (
    KERAS_ARTIFACT,
    KERAS_FILE,
    SERVING_CODE,
    SIGNATURE,
    UNCERTAINTY_ARTIFACT,
    UNCERTAINTY_FILE,
    RegisteredModel,
    saved_model,
    uncertainty_constants,
)
from tests.support.tiny import prepared_table, series_of

TIMESTEP = HORIZON = 6
OUTPUTS = ["month", "forecast", *QUANTILE_COLUMNS, "p_above_median"]


@pytest.fixture(scope="module")
def calibrated():
    """A spread calibrated on five years of two tiny locations, and Alpha's constants."""
    spread, locations = calibrate(series_of(prepared_table()), HORIZON, harmonics=2)
    return spread, locations["Alpha"]


@pytest.fixture(scope="module")
def keras_model() -> keras.Model:
    """A small standalone model: 6 months in, 6 months out (°C, roughly a seasonal swing)."""
    inputs = keras.Input((TIMESTEP, 1))
    hidden = keras.layers.Flatten()(inputs)
    outputs = keras.layers.Dense(HORIZON, bias_initializer=keras.initializers.Constant(15.0))
    return keras.Model(inputs, outputs(hidden))


def pyfunc(folder: Path, model: keras.Model, constants: dict | None):
    """The model saved as tempcast logs it (models from code, its artifacts, the signature, an
    input example), with `constants` as its uncertainty.json unless None, loaded back through
    pyfunc."""
    folder.mkdir()
    (folder / KERAS_FILE).write_bytes(saved_model(model))
    artifacts = {KERAS_ARTIFACT: str(folder / KERAS_FILE)}
    if constants is not None:
        (folder / UNCERTAINTY_FILE).write_text(json.dumps(constants))
        artifacts[UNCERTAINTY_ARTIFACT] = str(folder / UNCERTAINTY_FILE)
    path = folder / "model"
    mlflow.pyfunc.save_model(  # requirements given: MLflow need not load it to infer them
        path,
        python_model=str(SERVING_CODE),
        artifacts=artifacts,
        signature=SIGNATURE,
        input_example=history(),
        pip_requirements=["mlflow"],
    )
    return mlflow.pyfunc.load_model(str(path))


def history() -> pd.DataFrame:
    """Six months in, 2013-07..2013-12."""
    months = [f"2013-{m:02d}" for m in range(7, 13)]
    return pd.DataFrame({"month": months, "value": [22.0, 20.5, 17.0, 14.0, 11.5, 10.0]})


def test_the_signature_names_the_quantiles_and_the_chance():
    assert SIGNATURE.outputs.input_names() == OUTPUTS
    assert {spec.type.name for spec in SIGNATURE.outputs.inputs[1:]} == {"double"}
    assert SIGNATURE.inputs.input_names() == ["month", "value"]
    # serving.py stands alone: its copy of the published levels is tempcast's
    assert (serving.LEVELS, serving.QUANTILE_COLUMNS) == (LEVELS, QUANTILE_COLUMNS)


def test_the_pyfunc_gives_tempcasts_distribution(tmp_path, calibrated, keras_model):
    spread, alpha = calibrated
    constants = uncertainty_constants(spread, alpha)
    model = pyfunc(tmp_path / "with", keras_model, constants)
    assert model.metadata.get_output_schema().input_names() == OUTPUTS

    answer = model.predict(history())

    assert list(answer.columns) == OUTPUTS
    assert answer["month"].tolist() == [f"2014-{m:02d}" for m in range(1, 7)]
    forecast = answer["forecast"].to_numpy()
    calendar = np.arange(6)  # January..June
    expected = distribution(spread, alpha, forecast, calendar).columns()
    for name, values in expected.items():
        np.testing.assert_array_equal(answer[name].to_numpy(), values, err_msg=name)
    registered = RegisteredModel(keras_model, constants).distribution(forecast, calendar)
    for name, values in registered.columns().items():  # what publishing computes from it
        np.testing.assert_array_equal(answer[name].to_numpy(), values, err_msg=name)
    quantiles = answer[list(QUANTILE_COLUMNS)].to_numpy()
    assert np.isfinite(quantiles).all() and (np.diff(quantiles, axis=1) > 0).all()
    np.testing.assert_array_equal(answer["q50"], forecast)
    assert answer["p_above_median"].between(0, 1).all()


def test_a_model_logged_before_distributions_still_forecasts(tmp_path, keras_model):
    model = pyfunc(tmp_path / "without", keras_model, None)

    answer = model.predict(history())

    assert list(answer.columns) == OUTPUTS and len(answer) == HORIZON
    assert np.isfinite(answer["forecast"]).all()
    assert answer[[*QUANTILE_COLUMNS, "p_above_median"]].isna().all().all()
    assert RegisteredModel(keras_model, None).distribution(answer["forecast"], np.arange(6)) is None


def test_a_forecast_frame_carries_its_distribution(calibrated):
    spread, alpha = calibrated
    (series, _) = series_of(prepared_table())
    forecast = np.linspace(10, 20, HORIZON)
    given = distribution(spread, alpha, forecast, np.arange(HORIZON))

    with_it = forecast_frame(series, forecast, "2013-12", "3", given)
    from_columns = forecast_frame(series, forecast, "2013-12", "3", given.columns())
    without = forecast_frame(series, forecast, "2013-12", "3")

    assert list(with_it.columns) == FORECAST_COLUMNS == list(without.columns)
    pd.testing.assert_frame_equal(with_it, from_columns)
    np.testing.assert_array_equal(with_it["q90"], given.quantiles[:, LEVELS.index(0.9)])
    np.testing.assert_array_equal(with_it["p_above_median"], given.p_above_median)
    assert without[[*QUANTILE_COLUMNS, "p_above_median"]].isna().all().all()
