"""Crashes: a retrain or a backfill killed with SIGKILL at any point (a retrain three times over:
anywhere, between an alias and its decision, after its forecast history's write) completes when
the same command is started again. (Bad disks: test_bad_disks.py.)"""

import os
import signal
import sqlite3
import subprocess
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pandas as pd
from mlflow.tracking import MlflowClient

from tasks.publish.history import read_forecasts
from tests.support.mlflow_server import tempcast_env
from tests.support.prefect_server import start_logged, stop_group, tail
from tests.support.workspace import (
    assert_one_finished_run_per_unit,
    run,
    runs_of,
    statuses,
    store,
    tempcast,
)

# `tempcast` that kills itself (SIGKILL) once a promotion has moved the aliases, before it
# records its decision: the narrowest window of a retrain
KILLED_AT_DECISION = """
import os, signal, sys
from mlflow.tracking._model_registry.client import ModelRegistryClient

tag_version = ModelRegistryClient.set_model_version_tag

def set_model_version_tag(self, name, version, key, value):
    if key == "promoted":
        os.kill(os.getpid(), signal.SIGKILL)
    return tag_version(self, name, version, key, value)

ModelRegistryClient.set_model_version_tag = set_model_version_tag
sys.argv[0] = "tempcast"
from flows.cli import main
main()
"""

# `tempcast` that kills itself (SIGKILL) as it takes its first promotion lock: its units are
# tracked, no promotion is decided. (Killing it from outside once a unit's run has finished
# raced the promotions of a tiny retrain, which can all be recorded within the poll.)
KILLED_BEFORE_PROMOTION = """
import os, signal, sys
import tasks.pipeline.promotion as promotion

def promotion_lock(location):
    os.kill(os.getpid(), signal.SIGKILL)

promotion.promotion_lock = promotion_lock
sys.argv[0] = "tempcast"
from flows.cli import main
main()
"""

# `tempcast` that kills itself (SIGKILL) as soon as the forecast history's transaction has
# committed: between the database write and the end of the retrain
KILLED_AFTER_HISTORY = """
import os, signal, sys
import tasks.publish.forecasts as forecasts

append_forecasts = forecasts.append_forecasts

def append_then_die(*args, **kwargs):
    append_forecasts(*args, **kwargs)
    os.kill(os.getpid(), signal.SIGKILL)

forecasts.append_forecasts = append_then_die
sys.argv[0] = "tempcast"
from flows.cli import main
main()
"""


def finished_units(folder: Path, kind: str) -> int:
    """How many child runs of a kind are FINISHED, read straight from the sqlite file (read
    only: the store is the running command's)."""
    try:
        with sqlite3.connect(f"file:{folder / 'mlflow.db'}?mode=ro", uri=True) as db:
            (count,) = db.execute(
                "select count(*) from runs join tags on tags.run_uuid = runs.run_uuid"
                " where runs.status = 'FINISHED' and tags.key = 'tempcast.kind'"
                " and tags.value = ?",
                (kind,),
            ).fetchone()
    except sqlite3.Error:  # not created yet, or being migrated
        return 0
    return count


def kill_when(folder: Path, command: list[str], ready: Callable[[], bool]) -> None:
    """Start a command, and SIGKILL its process group as soon as `ready()` holds."""
    log = folder / "killed.log"
    process = start_logged(command, log, tempcast_env(store(folder)), folder)
    try:
        deadline = time.monotonic() + 400
        while not ready():
            assert process.poll() is None, f"it ended ({process.returncode}):\n{tail(log)}"
            assert time.monotonic() < deadline, tail(log)
            time.sleep(0.1)
        os.killpg(process.pid, signal.SIGKILL)
        assert process.wait(30) == -signal.SIGKILL
    finally:
        stop_group(process)


def assert_registry_consistent(client: MlflowClient) -> None:
    """Every alias points to a version whose run FINISHED and recorded its decision; every
    champion's decision says it was promoted."""
    for model in client.search_registered_models():
        for alias, version in model.aliases.items():
            found = client.get_model_version(model.name, str(version))
            run = client.get_run(found.run_id)
            assert run.info.status == "FINISHED", (model.name, alias, version)
            assert "tempcast.promotion" in run.data.tags, (model.name, alias, version)
            if alias == "champion":
                assert found.tags["promoted"] == run.data.tags["tempcast.promoted"] == "true"


def start_again_to_completion(
    workspace: Path, client: MlflowClient, args: tuple[str, ...], kind: str, units: int
) -> tuple[subprocess.CompletedProcess, list]:
    """Start the same command again: it succeeds with no traceback and leaves exactly one
    finished run of `kind` per unit; its result and those runs."""
    result = run(workspace, tempcast(workspace, *args))
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stdout + result.stderr
    runs = runs_of(client, kind)
    assert_one_finished_run_per_unit(runs, units=units)
    return result, runs


def test_a_retrain_killed_three_times_completes_on_the_fourth_start(workspace):
    args = ("retrain", "--as-of", "2013-12", "--out", "out")
    client = MlflowClient(store(workspace))
    history = f"sqlite:///{workspace / 'forecasts.db'}"
    key = ["location", "as_of", "model_version", "month"]

    # 1. once its units are tracked, before any promotion is decided
    killed = run(workspace, tempcast(workspace, *args, code=KILLED_BEFORE_PROMOTION))
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    first = statuses(runs_of(client, "retrain"))
    assert first.get("FINISHED", 0) >= 1
    assert not any(model.aliases for model in client.search_registered_models())

    # 2. in the narrowest window: a promotion moved the aliases, its decision is not recorded
    killed = run(workspace, tempcast(workspace, *args, code=KILLED_AT_DECISION))
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    unrecorded = [
        model.name
        for model in client.search_registered_models()
        if "champion" in model.aliases
        and "promoted" not in client.get_model_version(model.name, model.aliases["champion"]).tags
    ]
    assert unrecorded, "the kill did not land between the alias and the decision"
    second = statuses(runs_of(client, "retrain"))

    # 3. once the forecast history's transaction has committed, before the end of the retrain
    killed = run(workspace, tempcast(workspace, *args, code=KILLED_AFTER_HISTORY))
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    written = read_forecasts(history)
    assert len(written) == 2 * 6 and not written.duplicated(key).any()
    parents = runs_of(client, "retrain-parent")
    assert [parent.info.status for parent in parents] == ["RUNNING"]  # it never reached the end

    # 4. the same command again
    # (repeating a finished retrain adds no row either: tests/flows/test_forecast_history.py)
    _, runs = start_again_to_completion(workspace, client, args, "retrain", units=2)
    assert_registry_consistent(client)
    parents = runs_of(client, "retrain-parent")
    assert [parent.info.status for parent in parents] == ["FINISHED"]
    forecasts = pd.read_csv(workspace / "out" / "forecasts.csv")
    assert sorted(forecasts["location"].unique()) == ["Alpha", "Bravo"]
    pd.testing.assert_frame_equal(read_forecasts(history), written)  # the first write, untouched
    versions = {
        model.name: len(client.search_model_versions(f"name = '{model.name}'"))
        for model in client.search_registered_models()
    }
    print(
        f"\nretrain: runs after kill 1 {first}, after kill 2 {second} (champion without a"
        f" decision: {unrecorded}), after the restart {statuses(runs)}; versions {versions}"
    )


def test_a_backfill_killed_at_any_point_ends_with_one_run_per_unit(workspace):
    args = ("backfill", "--from", "2013-10", "--to", "2013-12", "--out", "bf")
    client = MlflowClient(store(workspace))
    kill_when(workspace, tempcast(workspace, *args), lambda: finished_units(workspace, "backfill"))
    killed = statuses(runs_of(client, "backfill"))

    result, runs = start_again_to_completion(workspace, client, args, "backfill", units=6)
    finished = Counter(
        (run.data.tags["tempcast.location"], run.data.tags["tempcast.as_of"])
        for run in runs
        if run.info.status == "FINISHED"
    )
    assert sorted(finished) == [
        (location, as_of)
        for location in ("Alpha", "Bravo")
        for as_of in ("2013-10", "2013-11", "2013-12")
    ]
    assert set(finished.values()) == {1}
    rows = pd.read_csv(workspace / "bf" / "backtest.csv")
    assert len(rows) == 3 * 2 * 6 and not rows.duplicated(["as_of", "location", "step"]).any()
    assert client.search_registered_models() == [], "a backfill registered a model"
    assert [parent.info.status for parent in runs_of(client, "backfill-parent")] == ["FINISHED"]
    counts = next(line for line in result.stdout.splitlines() if "units trained" in line)
    print(f"\nbackfill: runs after the kill {killed}, after the restart {statuses(runs)}; {counts}")
