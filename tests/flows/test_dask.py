"""Scale-out: the per-month work of a backfill on a local Dask cluster (one worker process: each
worker pays TensorFlow's start-up, and one is enough to leave this process) gives the same
results as the default thread runner, for the same seeds.

A month trained in a fresh worker process can differ from the same month trained after another
one in a warm process by float32 rounding (TensorFlow picks kernels by the shapes it has seen),
so forecasts are compared to 1e-3 °C; everything else must be equal.
"""

import numpy as np

from flows.backfill import backfill_flow
from tests.support.tiny import observations_file, tiny_settings


def test_dask_and_threads_give_the_same_backtest(tracking_store, monkeypatch):
    data = observations_file(tracking_store)

    def backfill(runner: str, store: str, concurrency: int):
        monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tracking_store / store}")
        settings = tiny_settings(
            data, tracking_store / runner, task_runner=runner, concurrency=concurrency
        )
        return backfill_flow(start="2013-05", end="2013-06", settings=settings)

    threads = backfill("thread", "threads.db", 1)
    dask = backfill("dask", "dask.db", 1)
    assert (dask.trained, dask.reused) == (threads.trained, threads.reused) == (4, 0)
    exact = ["as_of", "location", "month", "step", "actual", "baseline_climatology"]
    assert dask.rows[exact].equals(threads.rows[exact])
    assert np.allclose(dask.rows["forecast"], threads.rows["forecast"], rtol=0, atol=1e-3)
    by_location = dask.summaries["by_location"]["mae"] - threads.summaries["by_location"]["mae"]
    assert np.abs(by_location).max() < 1e-3
