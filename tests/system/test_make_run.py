"""`make run`'s path, what a newcomer runs first: `tempcast retrain --all` as a process with no
Prefect API configured (it starts its own temporary one) and no MLflow setting (the embedded
stores in its working folder), on tiny data, once."""

import json
import subprocess

import pandas as pd
from mlflow.tracking import MlflowClient

from tasks.publish.history import read_forecasts
from tests.support.prefect_server import TEMPCAST, users_shell
from tests.support.tiny import TINY_OPTIONS, observations_file


def test_retrain_on_a_temporary_prefect_api_and_the_embedded_stores(tmp_path):
    data = observations_file(tmp_path)
    home = tmp_path / "prefect-home"  # the temporary API's database, away from the user's
    done = subprocess.run(
        [TEMPCAST, "retrain", "--all", "--data", str(data), *TINY_OPTIONS],
        cwd=tmp_path,
        env=users_shell(PREFECT_HOME=str(home)),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=500,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output[-4000:]
    assert "Starting temporary server on http://127.0.0.1:" in output
    assert "as_of 2013-12: 2 of 2 locations promoted; forecasts for 2 locations in" in done.stdout

    out = tmp_path / "outputs"
    forecasts = pd.read_csv(out / "forecasts.csv")
    assert sorted(forecasts["location"].unique()) == ["Alpha", "Bravo"] and len(forecasts) == 12
    assert pd.read_csv(out / "metrics.csv")["location"].tolist() == ["Alpha", "Bravo"]
    assert json.loads((out / "report.json").read_text())["as_of"] == "2013-12"
    assert len(read_forecasts(f"sqlite:///{tmp_path / 'forecasts.db'}")) == 12
    client = MlflowClient(f"sqlite:///{tmp_path / 'mlflow.db'}")
    for name in ("tempcast-alpha", "tempcast-bravo"):
        aliases = client.get_registered_model(name).aliases
        assert {alias: str(version) for alias, version in aliases.items()} == {
            "champion": "1",
            "challenger": "1",
        }
    assert any((tmp_path / "mlartifacts").rglob("model.keras"))
