"""The embedded SQLite databases (MLflow store, forecast history) commit through a write-ahead
log."""

import sqlite3

from tasks.publish.history import opened
from tasks.tracking.store import experiment_id


def journal_mode(path) -> str:
    return sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0]


def test_the_embedded_store_and_history_commit_through_a_write_ahead_log(tracking_store):
    experiment_id()  # creates the store and the experiment
    with opened(f"sqlite:///{tracking_store / 'forecasts.db'}"):
        pass  # creates the history's tables
    assert journal_mode(tracking_store / "mlflow.db") == "wal"
    assert journal_mode(tracking_store / "forecasts.db") == "wal"
    experiments = sqlite3.connect(tracking_store / "mlflow.db").execute(
        "SELECT name FROM experiments"
    )
    assert experiments.fetchall() == [("Default",), ("tempcast",)]
