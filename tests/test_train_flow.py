"""The train flow end to end on tiny synthetic data, against a temporary MLflow store."""

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient
from prefect.artifacts import Artifact

from flows.train import LocationsFailed, train_flow
from tasks.config import TrainingOverrides
from tasks.errors import TempcastError
from tests.synthetic import synthetic_observations, write_observations

PARAMS = {
    "location",
    "timestep",
    "horizon",
    "units",
    "epochs",
    "batch_size",
    "learning_rate",
    "scaling",
    "recipe",
    "selection",
    "as_of",
    "data_digest",
    "seed",
}
METRICS = {
    "test_mae",
    "test_rmse",
    "test_mse",
    "train_mae",
    "baseline_climatology_mae",
    "baseline_seasonal_naive_mae",
    "skill_vs_climatology",
    "train_seconds",
    "loss",
    "val_loss",
}
SMALL = TrainingOverrides(epochs=2, timestep=6, horizon=6, units=4, ensemble=1)


@pytest.fixture
def observations(tracking_store):
    frame = synthetic_observations(("Alpha", "Bravo"), "2009-01-01", "2013-12-31")
    return write_observations(frame, tracking_store / "obs.csv")


def test_train_flow_tracks_registers_and_writes_metrics(observations, tracking_store):
    out = tracking_store / "out"
    table = train_flow(training=SMALL, data=str(observations), out=str(out))

    assert list(table["location"]) == ["Alpha", "Bravo"]
    saved = pd.read_csv(out / "metrics.csv")
    assert list(saved.columns) == [
        "location",
        "test_mae",
        "test_rmse",
        "baseline_climatology_mae",
        "baseline_seasonal_naive_mae",
        "skill_vs_climatology",
        "train_seconds",
        "run_id",
        "model_version",
    ]
    client = MlflowClient()
    experiment = client.get_experiment_by_name("tempcast")
    assert experiment.artifact_location.startswith((tracking_store / "mlartifacts").as_uri())
    runs = client.search_runs([experiment.experiment_id])
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    children = [r for r in runs if "mlflow.parentRunId" in r.data.tags]
    assert len(parents) == 1 and len(children) == 2
    assert {r.data.tags["mlflow.parentRunId"] for r in children} == {parents[0].info.run_id}
    assert parents[0].info.status == "FINISHED"

    for child in children:
        assert child.info.status == "FINISHED"
        assert child.info.run_name == child.data.params["location"]
        assert set(child.data.params) >= PARAMS
        assert set(child.data.metrics) >= METRICS
        assert child.data.params["epochs"] == "2" and child.data.params["as_of"] == "2013-12"
        history = client.get_metric_history(child.info.run_id, "loss")
        assert [m.step for m in history] == [0, 1]
        artifacts = {a.path for a in client.list_artifacts(child.info.run_id, "plots")}
        assert artifacts == {"plots/test_forecast.png", "plots/test_forecast.html"}
        predictions = mlflow.artifacts.load_text(
            f"{child.info.artifact_uri}/predictions/test_predictions.csv"
        )
        assert predictions.count("\n") == 1 + 6
        (dataset,) = client.get_run(child.info.run_id).inputs.dataset_inputs
        assert dataset.dataset.digest

    row = saved.set_index("location").loc["Alpha"]
    version = client.get_model_version("tempcast-alpha", str(row["model_version"]))
    assert version.run_id == row["run_id"]
    model = mlflow.pyfunc.load_model(f"models:/tempcast-alpha/{version.version}")
    prediction = model.predict(np.zeros((1, 6, 1), dtype=np.float32))
    assert np.asarray(prediction).shape == (1, 6, 1)
    assert model.metadata.get_input_schema().inputs[0].shape == (-1, 6, 1)

    artifact = Artifact.get("train-metrics")
    assert artifact is not None and "Alpha" in str(artifact.data)


def test_unknown_location_lists_the_valid_ones(observations):
    with pytest.raises(
        TempcastError, match="unknown location 'Nowhere'; valid locations: Alpha, Bravo"
    ):
        train_flow(locations=["Nowhere"], training=SMALL, data=str(observations))


def test_a_location_with_too_few_months_fails_alone(observations, tracking_store):
    with pytest.raises(LocationsFailed) as failed:
        train_flow(
            training=TrainingOverrides(epochs=1, timestep=18, horizon=18, units=4),
            data=str(observations),
            out=str(tracking_store / "out"),
        )
    assert set(failed.value.failures) == {"Alpha", "Bravo"}
    assert "needs 72, has 60" in failed.value.failures["Alpha"]
