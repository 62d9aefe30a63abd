"""The embedded MLflow store: a SQLite database that commits through a write-ahead log."""

import sqlite3

from tasks.tracking.store import experiment_id


def test_the_embedded_store_commits_through_a_write_ahead_log(tracking_store):
    experiment_id()  # creates the store and the experiment
    database = sqlite3.connect(tracking_store / "mlflow.db")
    assert database.execute("PRAGMA journal_mode").fetchone() == ("wal",)
    assert database.execute("SELECT name FROM experiments").fetchall() == [
        ("Default",),
        ("tempcast",),
    ]
