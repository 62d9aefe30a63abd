"""Tracking over HTTP: the flows against a real `mlflow server` give what they give with the
embedded store, and a server down at start is one clear error naming it. (A server gone
mid-run, and two retrains at once against one server: test_mlflow_outage.py.)"""

import subprocess
import sys
from collections import Counter
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from flows.backfill import backfill_flow
from flows.retrain import retrain_flow
from flows.train import train_flow
from tasks.errors import InfrastructureError
from tasks.tracking.store import model_name
from tests.support.cli_probe import one_error_line
from tests.support.mlflow_server import all_runs, tempcast_env
from tests.support.prefect_server import free_port
from tests.support.tiny import TINY_OPTIONS, observations_file, tiny_settings


def run_key(run) -> tuple:
    """What identifies a run across two stores: kind, name and as_of."""
    tags = run.data.tags
    return (tags.get("tempcast.kind"), run.info.run_name, tags.get("tempcast.as_of"))


def artifact_paths(client: MlflowClient, run_id: str, folder: str | None = None) -> list[str]:
    """Every artifact file of a run, recursively."""
    paths = []
    for item in client.list_artifacts(run_id, folder):
        paths += artifact_paths(client, run_id, item.path) if item.is_dir else [item.path]
    return paths


def store_summary(uri: str, locations: tuple[str, ...], skip: set[str]) -> dict:
    """Runs (by kind, name, as_of and status), their params, metrics (but timings) and artifact
    files, registered versions (with the run each came from) and aliases."""
    client = MlflowClient(uri)
    runs = [run for run in all_runs(client) if run.info.run_id not in skip]
    by_key = {run_key(run): run for run in runs}
    assert len(by_key) == len(runs), "two runs with the same kind, name and as_of"
    keys = {run.info.run_id: key for key, run in by_key.items()}
    versions, aliases = {}, {}
    for location in locations:
        name = model_name(location)
        found = client.search_model_versions(f"name = '{name}'")
        versions[name] = sorted((str(v.version), keys[v.run_id]) for v in found)
        model = client.get_registered_model(name)
        aliases[name] = {alias: str(version) for alias, version in model.aliases.items()}
    return {
        "runs": sorted(Counter((*run_key(run), run.info.status) for run in runs).items()),
        "params": {key: run.data.params for key, run in by_key.items()},
        "metrics": {
            key: {name: value for name, value in run.data.metrics.items() if "seconds" not in name}
            for key, run in by_key.items()
        },
        "artifacts": {
            key: sorted(artifact_paths(client, run.info.run_id)) for key, run in by_key.items()
        },
        "versions": versions,
        "aliases": aliases,
    }


def run_the_flows(uri: str, data: str, out: Path, monkeypatch) -> dict:
    """train, retrain and a two-month backfill into the store at `uri`; their results."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    trained = train_flow(tiny_settings(data, str(out / "train")))
    retrained = retrain_flow(settings=tiny_settings(data, str(out / "retrain")))
    backfill = backfill_flow(  # one month at a time: see assert_close
        start="2013-11",
        end="2013-12",
        settings=tiny_settings(data, out / "backfill", concurrency=1),
    )
    mlflow.set_tracking_uri(uri)
    champion = mlflow.pyfunc.load_model("models:/tempcast-alpha@champion")
    months = [f"2013-{month:02d}" for month in range(7, 13)]
    window = pd.DataFrame({"month": months, "value": np.linspace(10, 20, 6)})
    return {
        "train": trained,
        "retrain": retrained.table,
        "forecasts": retrained.forecasts,
        "backtest": backfill.rows,
        "counts": (backfill.trained, backfill.reused),
        "prediction": champion.predict(window)["forecast"].to_numpy(),
    }


def comparable(table: pd.DataFrame) -> pd.DataFrame:
    """A result table without what differs between two runs (timings, run ids), in a fixed
    row order."""
    kept = table.drop(columns=["train_seconds", "run_id"], errors="ignore")
    order = [column for column in ("as_of", "location", "month", "step") if column in kept]
    return kept.sort_values(order).reset_index(drop=True)


def assert_close(first: dict, second: dict) -> None:
    """Two {run key: {metric: value}} mappings with the same keys and values equal to 1e-9.

    Backfill runs train in Prefect worker threads, and their per-epoch training losses are not
    reproducible whatever the store: in the 4th digit with two months at a time (their trainings
    take turns, but in no fixed order, and TensorFlow picks kernels by the shapes a warm process
    has seen), in the 6th one month at a time (the models and every result stay equal: see the
    tables). So the backfill runs one month at a time here, and those two metrics are compared
    to 1e-4.
    """
    assert first.keys() == second.keys()
    for key in first:
        assert first[key].keys() == second[key].keys(), key
        for name in first[key]:
            noisy = key[0] == "backfill" and name in ("loss", "val_loss")
            tolerance = 1e-4 * abs(first[key][name]) if noisy else 1e-9
            assert abs(first[key][name] - second[key][name]) <= tolerance, (key, name)


def test_the_flows_give_the_same_results_over_http_as_with_the_embedded_store(
    tracking_server, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    locations = ("Alpha", "Bravo")
    data = str(observations_file(tmp_path, locations))
    embedded_uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    embedded = run_the_flows(embedded_uri, data, tmp_path / "embedded", monkeypatch)
    tracking_server.wait()
    before = {run.info.run_id for run in all_runs(MlflowClient(tracking_server.uri))}
    over_http = run_the_flows(tracking_server.uri, data, tmp_path / "http", monkeypatch)

    for name in ("train", "retrain", "forecasts", "backtest"):
        pd.testing.assert_frame_equal(
            comparable(embedded[name]),
            comparable(over_http[name]),
            check_exact=False,
            rtol=0,
            atol=1e-9,
            obj=name,
        )
    assert embedded["counts"] == over_http["counts"] == (4, 0)
    np.testing.assert_allclose(embedded["prediction"], over_http["prediction"], rtol=0, atol=1e-9)

    local = store_summary(embedded_uri, locations, set())
    remote = store_summary(tracking_server.uri, locations, before)
    assert remote["runs"] == local["runs"]
    assert sum(count for _, count in local["runs"]) == 3 + 2 + 2 + 4  # 3 parents, 8 children
    assert remote["params"] == local["params"]
    assert_close(remote["metrics"], local["metrics"])
    assert remote["artifacts"] == local["artifacts"]
    assert "plots/test_forecast.png" in local["artifacts"][("retrain", "Alpha", "2013-12")]
    assert remote["versions"] == local["versions"]
    assert [version for version, _ in local["versions"]["tempcast-alpha"]] == ["1", "2"]
    assert remote["aliases"] == local["aliases"]
    assert local["aliases"]["tempcast-alpha"] == {"champion": "2", "challenger": "2"}


def test_a_server_down_at_start_is_one_clear_error_naming_it(tmp_path, monkeypatch, fail_fast):
    monkeypatch.chdir(tmp_path)
    data = str(observations_file(tmp_path, ("Alpha", "Bravo")))
    down = f"http://127.0.0.1:{free_port()}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", down)
    flows = {
        "train": lambda: train_flow(tiny_settings(data, "train")),
        "retrain": lambda: retrain_flow(settings=tiny_settings(data, "retrain")),
        "backfill": lambda: backfill_flow(
            start="2013-12", end="2013-12", settings=tiny_settings(data, "backfill")
        ),
    }
    for name, run in flows.items():
        with pytest.raises(InfrastructureError) as caught:
            run()
        assert type(caught.value) is InfrastructureError, (name, repr(caught.value))
        message = str(caught.value)
        assert message.startswith(f"MLflow tracking at {down} failed: "), message
        assert "\n" not in message

    # the command line, with the project's own HTTP retries and task retries
    result = subprocess.run(
        [sys.executable, "-m", "flows", "retrain", "--data", data, *TINY_OPTIONS],
        cwd=tmp_path,
        env=tempcast_env(down),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 1, result.stderr[-3000:]
    line = one_error_line(result.stderr)
    assert line.startswith(f"tempcast: error: MLflow tracking at {down} failed: "), line
    assert result.stderr.strip().splitlines()[-1] == line
    assert "Traceback" not in result.stdout + result.stderr
    assert result.stdout == ""
