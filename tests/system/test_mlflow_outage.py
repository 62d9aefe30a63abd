"""A tracking server gone mid-run, then back: the same retrain completes once; and two retrains
at once against one server keep the better champion."""

import sys
import threading
from collections import Counter

import mlflow
import pytest
from mlflow.tracking import MlflowClient

import tasks.pipeline.tracking as units_module
import tasks.publish.drawing as drawing_module
from flows.retrain import retrain_flow
from tasks.errors import InfrastructureError
from tasks.tracking.store import model_name
from tests.support.mlflow_server import all_runs, tempcast_env
from tests.support.prefect_server import start_logged, stop_group
from tests.support.tiny import TINY_OPTIONS, observations_file, tiny_settings


def runs_as_of(client: MlflowClient, as_of: str, locations: tuple[str, ...]) -> dict[str, list]:
    """The locations' retrain runs as of a month."""
    found: dict[str, list] = {location: [] for location in locations}
    for run in all_runs(client):
        tags = run.data.tags
        if tags.get("tempcast.kind") == "retrain" and tags.get("tempcast.as_of") == as_of:
            found.get(tags["tempcast.location"], []).append(run)
    return found


def aliases_of(client: MlflowClient, locations: tuple[str, ...]) -> dict[str, dict[str, str]]:
    """Every alias of the locations' registered models."""
    return {
        location: {
            alias: str(version)
            for alias, version in client.get_registered_model(model_name(location)).aliases.items()
        }
        for location in locations
    }


def assert_aliases_promoted(client: MlflowClient, locations: tuple[str, ...]) -> None:
    """Every alias points to a version whose run FINISHED and whose promotion completed, and
    every champion's decision says it was promoted."""
    for location, aliases in aliases_of(client, locations).items():
        for alias, version in aliases.items():
            found = client.get_model_version(model_name(location), version)
            run = client.get_run(found.run_id)
            assert run.info.status == "FINISHED", (location, alias, version)
            assert {"tempcast.promotion", "tempcast.promoted"} <= set(run.data.tags), (
                location,
                alias,
                version,
            )
            if alias == "champion":
                assert found.tags["promoted"] == run.data.tags["tempcast.promoted"] == "true"


def test_a_server_gone_mid_run_then_back_completes_the_same_retrain_once(
    tracking_server, tmp_path, monkeypatch, fail_fast
):
    monkeypatch.chdir(tmp_path)
    locations = ("Charlie", "Delta")
    data = str(observations_file(tmp_path, locations))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", tracking_server.wait())
    client = MlflowClient(tracking_server.uri)
    retrain_flow(as_of="2013-06", settings=tiny_settings(data, "june"))
    before = aliases_of(client, locations)
    assert before == {name: {"champion": "1", "challenger": "1"} for name in locations}

    # Charlie is tracked (its run finished, its version tagged); the server goes away while
    # Delta's run is being logged
    charlie_tracked = threading.Event()
    track = units_module.log_location_run

    def tracked_then_told(parent_run_id, context, record):
        try:
            return track.fn(parent_run_id, context, record)
        finally:
            if record.location == "Charlie":
                charlie_tracked.set()

    telling_track = track.with_options()
    telling_track.fn = tracked_then_told

    def charts(started, frame, title):
        if title.startswith("Delta"):
            assert charlie_tracked.wait(180)
            tracking_server.stop()
        return drawn_test_charts(started, frame, title)

    drawn_test_charts = drawing_module.drawn_test_charts
    command = {"as_of": "2013-12", "settings": tiny_settings(data, "december")}
    with monkeypatch.context() as outage:
        outage.setattr(units_module, "log_location_run", telling_track)
        outage.setattr(drawing_module, "drawn_test_charts", charts)
        with pytest.raises(InfrastructureError) as caught:
            retrain_flow(**command)
    assert isinstance(caught.value, InfrastructureError), repr(caught.value)
    assert f"MLflow tracking at {tracking_server.uri} failed: " in str(caught.value)

    tracking_server.start()  # the same port and store
    assert aliases_of(client, locations) == before, "an alias moved without a promotion"
    runs = runs_as_of(client, "2013-12", locations)
    assert [r.info.status for r in runs["Charlie"]] == ["FINISHED"]
    assert "tempcast.promotion" not in runs["Charlie"][0].data.tags
    assert [r.info.status for r in runs["Delta"]] == ["RUNNING"]  # left by the outage
    charlie_run, delta_left = runs["Charlie"][0].info.run_id, runs["Delta"][0].info.run_id

    again = retrain_flow(**command)
    assert sorted(again.table["location"]) == list(locations)
    runs = runs_as_of(client, "2013-12", locations)
    finished = {
        name: [r for r in found if r.info.status == "FINISHED"] for name, found in runs.items()
    }
    assert {name: len(found) for name, found in finished.items()} == {"Charlie": 1, "Delta": 1}
    assert finished["Charlie"][0].info.run_id == charlie_run, "Charlie was trained again"
    assert client.get_run(delta_left).info.status == "KILLED"
    assert_aliases_promoted(client, locations)
    decided = {row.location: row.promoted for row in again.table.itertuples()}
    for location in locations:
        champion = aliases_of(client, (location,))[location]["champion"]
        assert champion == ("2" if decided[location] else "1"), location
    print(
        "\nserver gone mid-run: runs as of 2013-12 after the restart",
        {name: dict(Counter(r.info.status for r in found)) for name, found in runs.items()},
        "aliases",
        aliases_of(client, locations),
    )


def test_two_retrains_at_once_against_one_server_keep_the_better_champion(
    tracking_server, tmp_path
):
    locations = ("Echo", "Foxtrot")
    data = str(observations_file(tmp_path, locations))
    uri = tracking_server.wait()
    env = tempcast_env(uri)
    processes, logs = [], []
    for seed in (1, 2):
        log = tmp_path / f"seed{seed}.log"
        command = [sys.executable, "-m", "flows", "retrain", "--recipe", "article"]
        command += ["--data", data, *TINY_OPTIONS, "--seed", str(seed), "--out", f"out{seed}"]
        processes.append(start_logged(command, log, env, tmp_path))
        logs.append(log)
    try:
        codes = [process.wait(timeout=400) for process in processes]
    finally:
        for process in processes:
            stop_group(process)
    outputs = [log.read_text() for log in logs]
    assert codes == [0, 0], [output[-3000:] for output in outputs]
    registry_errors = ("Traceback", "Exception", "Task run failed", "| ERROR", "tempcast: error")
    registry_errors += ("RESOURCE_", "INTERNAL_ERROR", "UNIQUE constraint")
    for output in outputs:
        for words in registry_errors:
            assert words not in output, output[-3000:]

    client = MlflowClient(uri)
    mlflow.set_tracking_uri(uri)
    assert_aliases_promoted(client, locations)
    runs = runs_as_of(client, "2013-12", locations)
    for location in locations:
        assert [r.info.status for r in runs[location]] == ["FINISHED", "FINISHED"]
        name = model_name(location)
        found = client.search_model_versions(f"name = '{name}'")
        assert sorted(str(v.version) for v in found) == ["1", "2"]
        scores = {str(v.version): client.get_run(v.run_id).data.metrics["test_mae"] for v in found}
        champion = str(client.get_model_version_by_alias(name, "champion").version)
        decisions = {
            str(v.version): v.tags["promotion"]
            for v in client.search_model_versions(f"name = '{name}'")
        }
        print(f"\n{location}: champion v{champion}, test MAE {scores}, {decisions}")
        firsts = [reason for reason in decisions.values() if "no champion yet" in reason]
        assert len(firsts) == 1, decisions  # the later one compared settings with the earlier
        # the champion's settings, evaluated again on the same months, score as its own run did
        assert scores[champion] == min(scores.values()), (location, champion, scores)
