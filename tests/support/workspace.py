"""A working folder for `tempcast` processes: synthetic observations, its own MLflow store, and
the commands run in it (with tiny settings), for the crash and bad-disk tests."""

import subprocess
import sys
from collections import Counter
from pathlib import Path

from mlflow.tracking import MlflowClient

from tests.support.mlflow_server import tempcast_env
from tests.support.tiny import TINY_OPTIONS


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


def runs_of(client: MlflowClient, kind: str) -> list:
    """Every run of a kind (tag tempcast.kind)."""
    experiment = client.get_experiment_by_name("tempcast")
    query = f"tags.`tempcast.kind` = '{kind}'"
    return client.search_runs([experiment.experiment_id], query, max_results=1000)


def statuses(runs: list) -> dict[str, int]:
    """How many runs are in each status."""
    return dict(Counter(run.info.status for run in runs))


def assert_one_finished_run_per_unit(runs: list, units: int) -> None:
    """`units` units, each with exactly one FINISHED run, and no run left RUNNING."""
    finished = [run for run in runs if run.info.status == "FINISHED"]
    per_unit = Counter(run.data.tags["tempcast.unit"] for run in finished)
    assert len(per_unit) == units and set(per_unit.values()) == {1}, per_unit
    assert "RUNNING" not in statuses(runs), statuses(runs)
