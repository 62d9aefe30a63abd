"""The registered champion over REST: `mlflow models serve` (local environment) answers a request
for the months after 6 given ones with the forecast, its ordered quantiles and the chance of a
warmer-than-median month: the numbers the retrain published, and those that publishing reads
from the registered version."""

import json
import os
import urllib.request

import numpy as np
import pandas as pd

from flows.retrain import retrain_flow
from tasks.data.locations import LocationSeries
from tasks.model.uncertainty import QUANTILE_COLUMNS
from tasks.publish.forecasts import registered_forecast
from tests.support.mlflow_server import MLFLOW, QUIET, MlflowServer
from tests.support.prefect_server import start_logged
from tests.support.tiny import observations_file, tiny_settings

ANSWER = ["month", "forecast", *QUANTILE_COLUMNS, "p_above_median"]


class ModelServer(MlflowServer):
    """`mlflow models serve` of a registered model (in its own process group, one worker, the
    local environment: this one's, its bin folder first on PATH, where MLflow looks for
    uvicorn), resolving `models:/` against the tracking store `tracking_uri`; it answers
    `/health` once the model is loaded."""

    def __init__(self, folder, model_uri: str, tracking_uri: str) -> None:
        super().__init__(folder)
        self.model_uri, self.tracking_uri = model_uri, tracking_uri

    def command(self) -> list[str]:
        """The model server's command line."""
        return [
            *(str(MLFLOW), "models", "serve", "-m", self.model_uri, "--env-manager", "local"),
            *("--host", "127.0.0.1", "--port", str(self.port), "--workers", "1"),
        ]

    def launch(self) -> None:
        """Start the model server (without waiting), on the given tracking store."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
        env.update(QUIET, TF_CPP_MIN_LOG_LEVEL="3", MLFLOW_TRACKING_URI=self.tracking_uri)
        env["PATH"] = os.pathsep.join([str(MLFLOW.parent), env.get("PATH", "")])
        self.process = start_logged(self.command(), self.log, env, self.folder)


def invoke(url: str, payload: dict) -> pd.DataFrame:
    """POST a request in MLflow's JSON format to `/invocations` (never via a proxy); the
    predictions as a table."""
    request = urllib.request.Request(
        f"{url}/invocations",
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json"},
    )
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with direct.open(request, timeout=120) as response:
        return pd.DataFrame(json.loads(response.read())["predictions"])


def test_a_served_champion_answers_with_its_distribution(tracking_store):
    data = observations_file(tracking_store, locations=("Alpha",))
    out = tracking_store / "out"
    retrain_flow(settings=tiny_settings(data, out))
    published = pd.read_csv(out / "forecasts.csv")
    monthly = pd.read_csv(out / "monthly.csv", index_col="Location").loc["Alpha"]
    known = pd.DataFrame({"month": monthly.index[-6:], "value": monthly.to_numpy()[-6:]})
    series = LocationSeries("Alpha", monthly.to_numpy(float), list(monthly.index))
    forecast, registered = registered_forecast(series, "1")  # as publishing reads a version

    server = ModelServer(
        tracking_store / "serving",
        "models:/tempcast-alpha@champion",
        os.environ["MLFLOW_TRACKING_URI"],
    )
    try:
        url = server.start(timeout=300)
        split = invoke(url, {"dataframe_split": known.to_dict(orient="split", index=False)})
        records = invoke(url, {"dataframe_records": known.to_dict(orient="records")})
    finally:
        server.stop()
    assert not server.running

    assert list(split.columns) == ANSWER
    pd.testing.assert_frame_equal(split, records)
    assert split["month"].tolist() == [f"2014-{m:02d}" for m in range(1, 7)]
    quantiles = split[list(QUANTILE_COLUMNS)].to_numpy(float)
    assert np.isfinite(quantiles).all() and (np.diff(quantiles, axis=1) > 0).all()
    np.testing.assert_array_equal(split["q50"], split["forecast"])
    assert split["p_above_median"].between(0, 1).all()
    assert split["month"].tolist() == published["month"].tolist()
    np.testing.assert_allclose(split["forecast"], forecast, atol=1e-4)
    for name, values in registered.columns().items():
        np.testing.assert_allclose(split[name], values, atol=1e-4, err_msg=name)
    for name in ANSWER[1:]:  # what the retrain published from the fit, served by the registry
        np.testing.assert_allclose(split[name], published[name], atol=1e-3, err_msg=name)
