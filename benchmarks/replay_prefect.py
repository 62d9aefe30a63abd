"""The Prefect side of the replayed year (benchmarks/replay.py): the retrain deployment with its
month-complete trigger on a process work pool, a process worker, and the retrain runs that the
events start, waited for and counted through the API."""

import contextlib
import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from uuid import UUID

from flows.deployments import DEPLOYMENTS, WORK_POOL, build_deployment
from tests.support.prefect_server import PREFECT, api_settings, start_logged, stop_group, tail

RETRAIN = next(spec for spec in DEPLOYMENTS if spec.name == "retrain")
FINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


class ReplayError(RuntimeError):
    """The replay did not go as production should: a retrain failed or never came."""


def deploy_retrain(api_url: str, settings: dict[str, Any], folder: Path) -> UUID:
    """Create the process work pool and the retrain deployment with its trigger (as
    `tempcast serve` builds it, without the cron: the replay's months are not today's), its
    runs started in `folder` with these default settings; the deployment's id."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate

    deployment = build_deployment(RETRAIN)
    deployment.schedules = []
    deployment.parameters = {"settings": settings}
    deployment.job_variables = {"working_dir": str(folder)}
    with api_settings(api_url):
        with get_client(sync_client=True) as client:
            pool = WorkPoolCreate(name=WORK_POOL, type="process")
            client.create_work_pool(pool, overwrite=True)
        return deployment.apply(work_pool_name=WORK_POOL)


def start_worker(env: dict[str, str], log: Path, folder: Path) -> subprocess.Popen:
    """A process worker on the pool, in its own process group (flow runs are its children)."""
    command = [str(PREFECT), "worker", "start", "--pool", WORK_POOL, "--type", "process"]
    return start_logged([*command, "--prefetch-seconds", "1"], log, env, folder)


def retrain_runs(api_url: str, deployment_id: UUID) -> list[Any]:
    """Every flow run of the retrain deployment, oldest first."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import DeploymentFilter, DeploymentFilterId
    from prefect.client.schemas.sorting import FlowRunSort

    only = DeploymentFilter(id=DeploymentFilterId(any_=[deployment_id]))
    with api_settings(api_url), get_client(sync_client=True) as client:
        return client.read_flow_runs(
            deployment_filter=only, sort=FlowRunSort.EXPECTED_START_TIME_ASC
        )


def runs_of(runs: list[Any], as_of: str) -> list[Any]:
    """The runs with this as_of."""
    return [run for run in runs if run.parameters.get("as_of") == as_of]


def wait_for(check: Callable[[], Any], timeout: float, what: str, log: Path) -> Any:
    """Poll `check` every second until it gives something; a ReplayError after `timeout`."""
    deadline = time.monotonic() + timeout
    while (found := check()) is None or found is False:
        if time.monotonic() > deadline:
            raise ReplayError(f"{what}: nothing after {timeout:.0f} s\n{tail(log)}")
        time.sleep(1)
    return found


def finished_retrain(
    api_url: str, deployment_id: UUID, as_of: str, log: Path, killed: frozenset = frozenset()
) -> Any:
    """The retrain as of `as_of` once it has finished (a run the replay `killed` aside):
    completed, else a ReplayError."""

    def done() -> Any:
        runs = runs_of(retrain_runs(api_url, deployment_id), as_of)
        return next((r for r in runs if r.state_type.value in FINAL and r.id not in killed), None)

    run = wait_for(done, 1800, f"the retrain as of {as_of}", log)
    if run.state_type.value != "COMPLETED":
        raise ReplayError(f"retrain as of {as_of}: {run.state_type.value} {run.state.message}")
    return run


def running_retrain(api_url: str, deployment_id: UUID, as_of: str, log: Path) -> Any:
    """The retrain as of `as_of` once it runs."""

    def running() -> Any:
        runs = runs_of(retrain_runs(api_url, deployment_id), as_of)
        return next((run for run in runs if run.state_type.value == "RUNNING"), None)

    return wait_for(running, 600, f"a running retrain as of {as_of}", log)


def still_running(api_url: str, run: Any) -> bool:
    """Whether the flow run is still running."""
    from prefect.client.orchestration import get_client

    with api_settings(api_url), get_client(sync_client=True) as client:
        return client.read_flow_run(run.id).state_type.value == "RUNNING"


def kill_worker(worker: subprocess.Popen) -> None:
    """SIGKILL the worker and every process under it (its flow runs have sessions of their
    own, so the worker's process group does not hold them)."""
    import psutil

    for child in psutil.Process(worker.pid).children(recursive=True):
        with contextlib.suppress(psutil.NoSuchProcess):
            child.kill()
    stop_group(worker, signal.SIGKILL, grace=0)


def kill_and_restart(worker: subprocess.Popen, run: Any, api_url: str, restart: Callable) -> Any:
    """Kill the worker and its flow run, mark the orphaned run crashed (what Prefect would
    conclude from its missing heartbeats), start the worker again and run the same retrain once
    more by hand, as an operator would; the new worker."""
    from prefect.client.orchestration import get_client
    from prefect.states import Crashed

    kill_worker(worker)
    with api_settings(api_url), get_client(sync_client=True) as client:
        client.set_flow_run_state(
            run.id, Crashed(message="worker killed by the replay"), force=True
        )
        client.create_flow_run_from_deployment(run.deployment_id, parameters=run.parameters)
    return restart()


def run_counts(runs: list[Any]) -> dict[str, int]:
    """The retrain runs by final state, and how many an automation started (the event's: its
    runs carry the triggered action's idempotency key, a run started by hand none)."""
    counts: dict[str, int] = {"runs": len(runs), "started_by_event": 0}
    for run in runs:
        state = run.state_type.value.lower()
        counts[state] = counts.get(state, 0) + 1
        counts["started_by_event"] += run.idempotency_key is not None
    return counts
