"""Bad disks: an unusable output folder or a full disk fails in one clear line without leaving a
partial file or a stray MLflow run."""

import errno
import os
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
from tests.support.cli_probe import one_error_line
from tests.support.tiny import tiny_settings
from tests.support.workspace import (
    assert_one_finished_run_per_unit,
    run,
    runs_of,
    store,
    tempcast,
)


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
