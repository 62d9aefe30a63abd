"""Where the fanned-out work runs: threads in this process, or a Dask cluster via prefect-dask.

The per-location work of train and retrain, and the per-as_of work of backfill, is submitted to
the runner made here, so that one setting (`task_runner`) moves it onto Dask: an existing
cluster at `dask_address` (or $TEMPCAST_DASK_ADDRESS), else a local cluster of `concurrency`
single-threaded worker processes.
"""

import os

from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner

from tasks.settings import RunSettings

DASK_ADDRESS_VARIABLE = "TEMPCAST_DASK_ADDRESS"


def fan_out_runner(settings: RunSettings) -> TaskRunner:
    """A task runner for `concurrency` units at a time (on Dask: the local cluster's size)."""
    if settings.task_runner == "thread":
        return ThreadPoolTaskRunner(max_workers=settings.concurrency)
    from prefect_dask import DaskTaskRunner

    address = settings.dask_address or os.environ.get(DASK_ADDRESS_VARIABLE)
    if address:
        return DaskTaskRunner(address=address)
    return DaskTaskRunner(
        cluster_kwargs={
            "n_workers": settings.concurrency,
            "threads_per_worker": 1,
            "processes": True,
            "dashboard_address": None,
            "host": "127.0.0.1",
        }
    )
