"""An empty embedded MLflow store, made once per test process and copied wherever a test needs a
fresh one: MLflow's migrations take about 1.4 s of CPU for each new sqlite store, a copy takes
milliseconds, and the copy is the store those migrations would have made."""

import contextlib
import sqlite3
from pathlib import Path

STORE_FILE = "mlflow.db"


def make_empty_store(folder: Path) -> Path:
    """A migrated, empty MLflow store in `folder`; its path."""
    from mlflow.tracking import MlflowClient

    path = folder / STORE_FILE
    MlflowClient(f"sqlite:///{path}").search_experiments()
    return path


def copy_empty_store(template: Path, folder: Path) -> str:
    """The empty store copied into `folder` as if made there (its Default experiment's
    artifacts in `folder`/mlruns/0, where MLflow puts them for a store made with `folder` as
    the working folder); its URI. SQLite's backup copies a store in write-ahead-log mode whole."""
    path = folder / STORE_FILE
    with (
        contextlib.closing(sqlite3.connect(template)) as source,
        contextlib.closing(sqlite3.connect(path)) as copy,
    ):
        source.backup(copy)
        with copy:
            copy.execute(
                "update experiments set artifact_location = ? where experiment_id = 0",
                (str(folder / "mlruns" / "0"),),
            )
    return f"sqlite:///{path}"
