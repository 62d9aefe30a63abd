"""Crashes and bad disks: a retrain or a backfill killed with SIGKILL at any point (a retrain three
times over: anywhere, between an alias and its decision, after its forecast history's write)
completes when the same command is started again, and an unusable output folder or a full disk
fails in one clear line without leaving a partial file or a stray MLflow run."""

import errno
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

import tasks.publish.outputs as outputs
from flows.backfill import backfill_flow
from flows.retrain import retrain_flow
from flows.train import train_flow
from tasks.errors import TempcastError
from tasks.publish.history import read_forecasts
from tests.support.mlflow_server import tempcast_env
from tests.support.prefect_server import start_logged, stop_group, tail
from tests.support.synthetic import synthetic_observations, write_observations
from tests.support.tiny import TINY_OPTIONS, tiny_settings

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


@pytest.fixture
def workspace(tmp_path):
    """A folder with five years of synthetic observations (2009..2013) for two locations; its
    own MLflow store is `mlflow.db` in it."""
    frame = synthetic_observations(("Alpha", "Bravo"), "2009-01-01", "2013-12-31")
    write_observations(frame, tmp_path / "obs.csv")
    return tmp_path


def store(folder: Path) -> str:
    return f"sqlite:///{folder / 'mlflow.db'}"


def tempcast(folder: Path, *args: str, code: str | None = None) -> list[str]:
    """`python -m flows ARGS` on the folder's data with tiny settings (or `python -c CODE`)."""
    start = ["-c", code] if code else ["-m", "flows"]
    return [sys.executable, *start, *args, "--data", str(folder / "obs.csv"), *TINY_OPTIONS]


def run(folder: Path, command: list[str]) -> subprocess.CompletedProcess:
    """Run a command in the folder against its store; its exit status and output."""
    return subprocess.run(
        command,
        cwd=folder,
        env=tempcast_env(store(folder)),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=400,
    )


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


def runs_of(client: MlflowClient, kind: str) -> list:
    """Every run of a kind (tag tempcast.kind)."""
    experiment = client.get_experiment_by_name("tempcast")
    query = f"tags.`tempcast.kind` = '{kind}'"
    return client.search_runs([experiment.experiment_id], query, max_results=1000)


def statuses(runs: list) -> dict[str, int]:
    return dict(Counter(run.info.status for run in runs))


def assert_one_finished_run_per_unit(runs: list, units: int) -> None:
    """`units` units, each with exactly one FINISHED run, and no run left RUNNING."""
    finished = [run for run in runs if run.info.status == "FINISHED"]
    per_unit = Counter(run.data.tags["tempcast.unit"] for run in finished)
    assert len(per_unit) == units and set(per_unit.values()) == {1}, per_unit
    assert "RUNNING" not in statuses(runs), statuses(runs)


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


def one_error_line(stderr: str) -> str:
    """The CLI's error line; there must be exactly one."""
    lines = [line for line in stderr.splitlines() if line.startswith("tempcast: error:")]
    assert len(lines) == 1, stderr[-3000:]
    return lines[0]


def test_an_unusable_output_folder_fails_in_one_line_before_any_training(workspace, monkeypatch):
    blocker = workspace / "a-file"
    blocker.write_text("not a folder\n")
    below = blocker / "out"
    result = run(workspace, tempcast(workspace, "retrain", "--out", str(below)))
    assert result.returncode == 2, result.stderr[-3000:]
    assert one_error_line(result.stderr) == (
        f"tempcast: error: output folder {below} is not usable: Not a directory"
    )
    assert "Traceback" not in result.stdout + result.stderr
    assert "Task run 'train" not in result.stderr and "epoch" not in result.stderr

    monkeypatch.chdir(workspace)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store(workspace))
    data = str(workspace / "obs.csv")
    attempts = {
        "train into a file": lambda: train_flow(tiny_settings(data, blocker)),
        "backfill below a file": lambda: backfill_flow(
            start="2013-12", end="2013-12", settings=tiny_settings(data, below)
        ),
    }
    for name, attempt in attempts.items():
        with pytest.raises(TempcastError, match=r"^output folder .+ is not usable: ") as caught:
            attempt()
        assert "\n" not in str(caught.value), name

    def read_only(*args, **kwargs):  # a folder that exists but takes no file
        raise PermissionError(errno.EROFS, os.strerror(errno.EROFS))

    monkeypatch.setattr(outputs, "tempfile", SimpleNamespace(TemporaryFile=read_only))
    with pytest.raises(TempcastError) as caught:
        retrain_flow(settings=tiny_settings(data, str(workspace)))
    assert str(caught.value) == (
        f"output folder {workspace} is not usable: {os.strerror(errno.EROFS)}"
    )
    assert not (workspace / "mlflow.db").exists(), "an MLflow store was used"


def test_a_full_disk_leaves_no_partial_file_and_says_so(workspace, monkeypatch):
    monkeypatch.chdir(workspace)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store(workspace))
    command = {
        "as_of": "2013-12",
        "settings": tiny_settings(workspace / "obs.csv", workspace / "out"),
    }
    write_atomically = outputs.write_atomically

    def full_disk(path: Path, write: Callable[[Path], object]) -> Path:
        def half_then_full(target: Path) -> None:
            write(target)
            with target.open("r+b") as handle:  # half of it reached the disk
                handle.truncate(target.stat().st_size // 2)
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

        return write_atomically(path, half_then_full)

    with monkeypatch.context() as disk:
        disk.setattr(outputs, "write_atomically", full_disk)
        with pytest.raises(TempcastError) as caught:
            retrain_flow(**command)
    forecasts = workspace / "out" / "forecasts.csv"
    assert type(caught.value) is TempcastError, repr(caught.value)
    assert str(caught.value) == f"cannot write {forecasts}: No space left on device"
    assert not forecasts.exists()
    assert [path.name for path in (workspace / "out").iterdir() if ".tmp" in path.name] == []

    again = retrain_flow(**command)  # space is back
    written = pd.read_csv(forecasts, float_precision="round_trip")
    assert len(written) == 2 * 6
    pd.testing.assert_frame_equal(
        written.astype(str), again.forecasts.reset_index(drop=True).astype(str)
    )
    assert [path.name for path in (workspace / "out").iterdir() if ".tmp" in path.name] == []
    client = MlflowClient(store(workspace))
    assert_one_finished_run_per_unit(runs_of(client, "retrain"), units=2)
