"""The retrain flow on tiny data: the as_of cut, the evaluate-then-refit production model,
settings-based promotion, forecasts from the champions, repeats and resumes."""

import json

import mlflow
import numpy as np
import pandas as pd
from mlflow.tracking import MlflowClient

from flows.retrain import retrain_flow
from tasks.publish.forecasts import FORECAST_COLUMNS
from tests.support.tiny import TINY_TRAINING, observations_file, tiny_settings


def champion_forecast(location: str, monthly: pd.DataFrame) -> np.ndarray:
    """The registered champion's pyfunc forecast from the last 6 months of the table."""
    model = mlflow.pyfunc.load_model(f"models:/tempcast-{location.lower()}@champion")
    recent = monthly.loc[location].iloc[-6:]
    return model.predict(pd.DataFrame({"month": recent.index, "value": recent.to_numpy()}))


def test_retrain_promotes_by_the_rule_and_forecasts_from_as_of(tracking_store):
    data = observations_file(tracking_store, end="2014-12-31")
    first_out, second_out, third_out = (tracking_store / name for name in ("a", "b", "c"))

    first = retrain_flow(as_of="2013-06", settings=tiny_settings(data, first_out))
    assert first.as_of.label == "2013-06"
    assert set(first.table["promoted"]) == {True}
    forecasts = pd.read_csv(first_out / "forecasts.csv")
    assert list(forecasts.columns) == FORECAST_COLUMNS
    assert sorted(forecasts["month"].unique()) == [f"2013-{m:02d}" for m in range(7, 13)]
    assert set(forecasts["as_of"]) == {"2013-06"} and set(forecasts["model_version"]) == {1}
    monthly = pd.read_csv(first_out / "monthly.csv", index_col="Location")
    assert monthly.columns[-1] == "2013-06"  # nothing after as_of
    for location, rows in forecasts.groupby("location"):
        registered = champion_forecast(location, monthly)
        assert registered["month"].tolist() == rows["month"].tolist()
        np.testing.assert_allclose(registered["forecast"], rows["forecast"], atol=1e-4)
        for name in ("q05", "q95", "p_above_median"):  # the fitted distribution, as served
            np.testing.assert_allclose(registered[name], rows[name], atol=1e-3)

    fresher = retrain_flow(as_of="2014-06", settings=tiny_settings(data, second_out))
    assert set(fresher.table["promoted"]) == {True}  # the same settings on fresher data
    client = MlflowClient()
    for location in ("Alpha", "Bravo"):
        version = client.get_model_version_by_alias(f"tempcast-{location.lower()}", "champion")
        assert str(version.version) == "2" and "fresher data" in version.tags["promotion"]

    other = TINY_TRAINING.model_copy(update={"seed": 5})  # other settings must earn promotion
    third = retrain_flow(settings=tiny_settings(data, third_out, training=other))
    assert third.as_of.label == "2014-12"
    for location in ("Alpha", "Bravo"):
        name = f"tempcast-{location.lower()}"
        aliases = {k: str(v) for k, v in client.get_registered_model(name).aliases.items()}
        run = client.get_run(client.get_model_version(name, "3").run_id)
        fair = run.data.metrics["champion_settings_test_mae"]
        better = run.data.metrics["test_mae"] < fair
        assert aliases == {"challenger": "3", "champion": "3" if better else "2"}
        tags = client.get_model_version(name, "3").tags
        assert tags["promoted"] == str(better).lower() and tags["as_of"] == "2014-12"
        assert run.data.tags["tempcast.promotion"] == tags["promotion"]
        assert "on the same months" in tags["promotion"]
    forecasts = pd.read_csv(third_out / "forecasts.csv")
    assert sorted(forecasts["month"].unique()) == [f"2015-{m:02d}" for m in range(1, 7)]
    champions = {
        loc: str(client.get_registered_model(f"tempcast-{loc.lower()}").aliases["champion"])
        for loc in ("Alpha", "Bravo")
    }
    assert {row.location: str(row.model_version) for row in forecasts.itertuples()} == champions
    report = json.loads((third_out / "report.json").read_text())
    assert report["as_of"] == "2014-12" and report["as_of_source"] == "data" and not report["stale"]
    assert set(report["decisions"]) == {"Alpha", "Bravo"}


def test_a_location_too_short_for_a_test_window_still_trains_registers_and_forecasts(
    tracking_store,
):
    data = observations_file(tracking_store, end="2009-12-31")  # 12 months: one 6 + 6 window
    result = retrain_flow(settings=tiny_settings(data, tracking_store / "out"))
    assert result.table["test_mae"].isna().all() and set(result.table["promoted"]) == {True}
    assert len(result.forecasts) == 2 * 6
    client = MlflowClient()
    run = client.get_run(result.table.set_index("location").loc["Alpha", "run_id"])
    assert run.data.tags["tempcast.test_metrics"].startswith("test metrics unavailable")
    assert "test_mae" not in run.data.metrics and "epochs_trained" in run.data.metrics


def test_a_repeated_or_resumed_retrain_trains_nothing_twice(tracking_store):
    data = observations_file(tracking_store)
    settings = tiny_settings(data, tracking_store / "out")
    retrain_flow(settings=settings)
    client = MlflowClient()
    experiment = client.get_experiment_by_name("tempcast").experiment_id
    runs = {r.info.run_id: r for r in client.search_runs([experiment])}
    alpha = next(r for r in runs.values() if r.info.run_name == "Alpha")
    # a crash after Alpha's run finished but before its promotion was recorded
    client.delete_tag(alpha.info.run_id, "tempcast.promotion")
    client.delete_registered_model_alias("tempcast-alpha", "champion")

    again = retrain_flow(settings=settings)
    assert set(r.info.run_id for r in client.search_runs([experiment])) == set(runs)
    assert {str(v) for v in client.get_registered_model("tempcast-alpha").aliases.values()} == {"1"}
    assert client.get_run(alpha.info.run_id).data.tags["tempcast.promotion"].startswith("promoted")
    assert list(again.table["model_version"]) == ["1", "1"]
    forecasts = pd.read_csv(tracking_store / "out" / "forecasts.csv")
    assert forecasts["model_version"].tolist() == [1] * 12
