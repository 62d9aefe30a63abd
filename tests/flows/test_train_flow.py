"""The train flow end to end on tiny synthetic data, against a temporary MLflow store."""

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient
from prefect import Task
from prefect.artifacts import Artifact

import tasks.pipeline.tracking as units_module
from flows.cli import app, main
from flows.train import train_flow
from tasks.data.rules import SelectionRules
from tasks.errors import TempcastError
from tasks.model.settings import TrainingConfig
from tasks.model.uncertainty import QUANTILE_COLUMNS
from tasks.pipeline.failures import LocationsFailed
from tasks.publish.reports import METRIC_COLUMNS
from tasks.tracking.runs import RunContext, RunRecord
from tests.support.tiny import TINY_OPTIONS, TINY_TRAINING, observations_file, tiny_settings

PARAMS = {
    "location",
    *TrainingConfig.model_fields,
    "selection",
    *SelectionRules.model_fields,
    "as_of",
    "data_digest",
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
    "epochs_trained",
    "correction_steps",
    "evaluation_epochs",
    "evaluation_correction_steps",
    "validation_mae",
}


@pytest.fixture
def observations(tracking_store):
    return observations_file(tracking_store)


def test_train_flow_tracks_registers_and_writes_metrics(observations, tracking_store):
    out = tracking_store / "out"
    table = train_flow(tiny_settings(observations, out))

    assert list(table["location"]) == ["Alpha", "Bravo"]
    saved = pd.read_csv(out / "metrics.csv")
    assert list(saved.columns) == METRIC_COLUMNS
    assert {"test_mae", "baseline_climatology_mae", "run_id"} <= set(METRIC_COLUMNS)
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
        assert set(child.data.params) == PARAMS
        assert set(child.data.metrics) >= METRICS
        params = child.data.params
        assert (params["epochs"], params["as_of"], params["refit"]) == ("2", "2013-12", "True")
        assert child.data.tags["tempcast.test_metrics"] == "available"
        curve = client.get_metric_history(child.info.run_id, "validation_mae")
        assert [m.step for m in curve] == [0, 1, 2]  # untrained, then after each epoch
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
    assert version.tags["settings_digest"] and '"timestep": 6' in version.tags["settings"]
    model = mlflow.pyfunc.load_model(f"models:/tempcast-alpha/{version.version}")
    months = pd.DataFrame({"month": [f"2013-{m:02d}" for m in range(7, 13)], "value": 15.0})
    forecast = model.predict(months)
    assert list(forecast.columns) == ["month", "forecast", *QUANTILE_COLUMNS, "p_above_median"]
    quantiles = forecast[list(QUANTILE_COLUMNS)].to_numpy()
    assert np.isfinite(quantiles).all() and (np.diff(quantiles, axis=1) >= 0).all()
    assert forecast["month"].tolist() == [f"2014-{m:02d}" for m in range(1, 7)]
    assert [c.name for c in model.metadata.get_input_schema().inputs] == ["month", "value"]
    with pytest.raises(ValueError, match="consecutive"):  # tasks/tracking/serving.py
        model.predict(months.drop(index=2))

    artifact = Artifact.get("train-metrics")
    assert artifact is not None and "Alpha" in str(artifact.data)


def test_unknown_location_lists_the_valid_ones(observations):
    settings = tiny_settings(observations, "out", locations=["Nowhere"])
    with pytest.raises(
        TempcastError, match="unknown location 'Nowhere'; valid locations: Alpha, Bravo"
    ):
        train_flow(settings)


def test_locations_with_too_few_months_fail_naming_the_months_they_need(
    observations, tracking_store
):
    training = TINY_TRAINING.model_copy(update={"timestep": 36, "horizon": 36})
    settings = tiny_settings(observations, tracking_store / "out", training=training)
    with pytest.raises(LocationsFailed) as failed:
        train_flow(settings)
    assert set(failed.value.failures) == {"Alpha", "Bravo"}
    assert "needs 72, has 60" in failed.value.failures["Alpha"]


def failing_to_track(location: str) -> Task:
    """The tracking task, failing at once (no retries) for `location`, as when its run cannot
    be logged; every other location is tracked as usual."""
    track = units_module.log_location_run

    def track_unless(parent_run_id: str, context: RunContext, record: RunRecord):
        if record.location == location:
            raise MlflowException(f"{location}'s run could not be logged")
        return track.fn(parent_run_id, context, record)

    failing = track.with_options(retries=0)
    failing.fn = track_unless
    return failing


@pytest.mark.parametrize("command", ["train", "retrain"])
def test_a_failing_location_does_not_stop_the_others_and_the_command_exits_1(
    command, observations, tracking_store, monkeypatch, capsys
):
    monkeypatch.setattr(units_module, "log_location_run", failing_to_track("Bravo"))
    arguments = [command, "--data", str(observations), "--out", "out", *TINY_OPTIONS]
    with pytest.raises(SystemExit) as exited:
        main(lambda: app(arguments, prog_name="tempcast"))
    printed = capsys.readouterr()
    assert exited.value.code == 1, printed.err[-3000:]
    errors = [line for line in printed.err.splitlines() if line.startswith("tempcast: error:")]
    assert errors == [
        "tempcast: error: 1 location(s) failed: Bravo: tracking failed: MlflowException:"
        " Bravo's run could not be logged"
    ]
    assert printed.out.splitlines()[1].split()[0] == "Alpha"  # the finished ones, printed
    metrics = pd.read_csv(tracking_store / "out" / "metrics.csv")
    assert metrics["location"].tolist() == ["Alpha"] and metrics["test_mae"].notna().all()
    client = MlflowClient()
    assert [str(v.version) for v in client.search_model_versions("name = 'tempcast-alpha'")] == [
        "1"
    ]
    assert client.search_registered_models(filter_string="name = 'tempcast-bravo'") == []
    (parent,) = client.search_runs(
        [client.get_experiment_by_name("tempcast").experiment_id],
        f"tags.`tempcast.kind` = '{command}-parent'",
    )
    assert parent.info.status == "FAILED"
    if command == "retrain":  # Alpha is promoted and forecast all the same
        assert str(client.get_model_version_by_alias("tempcast-alpha", "champion").version) == "1"
        forecasts = pd.read_csv(tracking_store / "out" / "forecasts.csv")
        assert set(forecasts["location"]) == {"Alpha"} and len(forecasts) == 6
