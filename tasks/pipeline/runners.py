"""Where the fanned-out work runs: threads in this process, or a Dask cluster via prefect-dask.

The per-location work of train and retrain, and the per-as_of work of backfill, is submitted to
the runner made here, so that one setting (`task_runner`) moves it onto Dask: an existing
cluster at the places' `dask_address` (the option, else $TEMPCAST_DASK_ADDRESS), else a local
cluster of `concurrency` single-threaded worker processes.
"""

from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner

from tasks.places import Places
from tasks.settings import RunSettings


def fan_out_runner(settings: RunSettings, places: Places) -> TaskRunner:
    """A task runner for `concurrency` units at a time (on Dask: the local cluster's size)."""
    if settings.task_runner == "thread":
        return ThreadPoolTaskRunner(max_workers=settings.concurrency)
    from prefect_dask import DaskTaskRunner

    if places.dask_address:
        return DaskTaskRunner(address=places.dask_address)
    return DaskTaskRunner(
        cluster_kwargs={
            "n_workers": settings.concurrency,
            "threads_per_worker": 1,
            "processes": True,
            "dashboard_address": None,
            "host": "127.0.0.1",
        }
    )
