"""The retrain flow twice on tiny data: aliases, decision tags, forecasts, the as_of cut."""

import json

import mlflow
import numpy as np
import pandas as pd
from mlflow.tracking import MlflowClient

from flows.retrain import retrain_flow
from tasks.config import TrainingOverrides
from tests.synthetic import synthetic_observations, write_observations

SMALL = TrainingOverrides(epochs=2, timestep=6, horizon=6, units=4, ensemble=1)


def holdout_mae(version: str, monthly: pd.DataFrame, location: str) -> float:
    """MAE of a registered version on the last 6 months, from the 6 before (independent check)."""
    model = mlflow.pyfunc.load_model(f"models:/tempcast-{location.lower()}/{version}")
    series = monthly.loc[location].to_numpy()
    forecast = np.asarray(model.predict(series[-12:-6].reshape(1, 6, 1).astype(np.float32)))
    return float(np.mean(np.abs(forecast.reshape(-1) - series[-6:])))


def test_retrain_twice_promotes_by_the_rule_and_forecasts_from_as_of(tracking_store):
    frame = synthetic_observations(("Alpha", "Bravo"), "2009-01-01", "2014-12-31")
    data = write_observations(frame, tracking_store / "obs.csv")
    first_out, second_out = tracking_store / "first", tracking_store / "second"

    first = retrain_flow(as_of="2013-06", training=SMALL, data=str(data), out=str(first_out))
    assert first.as_of.label == "2013-06"
    assert set(first.table["promoted"]) == {True}
    forecasts = pd.read_csv(first_out / "forecasts.csv")
    assert list(forecasts.columns) == ["location", "month", "forecast", "as_of", "model_version"]
    assert sorted(forecasts["month"].unique()) == [f"2013-{m:02d}" for m in range(7, 13)]
    assert set(forecasts["as_of"]) == {"2013-06"} and set(forecasts["model_version"]) == {1}
    assert pd.read_csv(first_out / "monthly.csv").columns[-1] == "2013-06"  # nothing after as_of

    second = retrain_flow(
        training=SMALL.model_copy(update={"seed": 5}), data=str(data), out=str(second_out)
    )
    assert second.as_of.label == "2014-12"
    client = MlflowClient()
    monthly = pd.read_csv(second_out / "monthly.csv", index_col="Location")
    for location in ("Alpha", "Bravo"):
        model = client.get_registered_model(f"tempcast-{location.lower()}")
        aliases = {k: str(v) for k, v in model.aliases.items()}
        assert aliases["challenger"] == "2"
        better = holdout_mae("2", monthly, location) < holdout_mae("1", monthly, location)
        assert aliases["champion"] == ("2" if better else "1")
        tags = client.get_model_version(model.name, "2").tags
        assert tags["promoted"] == str(better).lower() and tags["as_of"] == "2014-12"
        run = client.get_run(client.get_model_version(model.name, "2").run_id)
        assert run.data.tags["tempcast.promotion"] == tags["promotion"]
        assert "champion_holdout_mae" in run.data.metrics

    forecasts = pd.read_csv(second_out / "forecasts.csv")
    assert sorted(forecasts["month"].unique()) == [f"2015-{m:02d}" for m in range(1, 7)]
    champions = {
        loc: str(client.get_registered_model(f"tempcast-{loc.lower()}").aliases["champion"])
        for loc in ("Alpha", "Bravo")
    }
    assert {row.location: str(row.model_version) for row in forecasts.itertuples()} == champions
    report = json.loads((second_out / "report.json").read_text())
    assert report["as_of"] == "2014-12" and report["as_of_source"] == "data" and not report["stale"]
    assert set(report["decisions"]) == {"Alpha", "Bravo"}


def test_a_repeated_or_resumed_retrain_trains_nothing_twice(tracking_store):
    frame = synthetic_observations(("Alpha", "Bravo"), "2009-01-01", "2013-12-31")
    data = str(write_observations(frame, tracking_store / "obs.csv"))
    out = str(tracking_store / "out")
    retrain_flow(training=SMALL, data=data, out=out)
    client = MlflowClient()
    experiment = client.get_experiment_by_name("tempcast").experiment_id
    runs = {r.info.run_id: r for r in client.search_runs([experiment])}
    alpha = next(r for r in runs.values() if r.info.run_name == "Alpha")
    # a crash after Alpha's run finished but before its promotion was recorded
    client.delete_tag(alpha.info.run_id, "tempcast.promotion")
    client.delete_registered_model_alias("tempcast-alpha", "champion")

    again = retrain_flow(training=SMALL, data=data, out=out)
    assert set(r.info.run_id for r in client.search_runs([experiment])) == set(runs)
    assert {str(v) for v in client.get_registered_model("tempcast-alpha").aliases.values()} == {"1"}
    assert client.get_run(alpha.info.run_id).data.tags["tempcast.promotion"].startswith("promoted")
    assert list(again.table["model_version"]) == ["1", "1"]
    assert (
        pd.read_csv(tracking_store / "out" / "forecasts.csv")["model_version"].tolist() == [1] * 12
    )
