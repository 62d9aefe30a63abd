"""The Prefect deployments of tempcast's flows: the monthly retrain on a cron schedule, backfill
and a one-off train, served from one process by `tempcast serve`.

`DEPLOYMENTS` is the one source of truth for their names, entrypoints, schedule, parameters and
tags; `prefect.yaml` repeats them for `prefect deploy --all` and a test checks that both agree.
The flows (and TensorFlow with them) are imported only when the deployments are built.
"""

import importlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from tasks.data.asof import SCHEDULE_TIMEZONE
from tasks.errors import TempcastError

if TYPE_CHECKING:
    from prefect import Flow
    from prefect.deployments.runner import RunnerDeployment

WORK_POOL = "tempcast"
TIMEZONE = SCHEDULE_TIMEZONE.key
MONTHLY_CRON = "0 3 2 * *"
DEFAULT_PARAMETERS: dict[str, Any] = {"settings": {"recipe": "default", "selection": "auto"}}

SERVER_HINT = (
    "`tempcast serve` needs a Prefect server: start one with `prefect server start --host"
    " 127.0.0.1 --analytics-off` and set PREFECT_API_URL=http://127.0.0.1:4200/api"
)


@dataclass(frozen=True)
class DeploymentSpec:
    """One deployment: its name, the flow it runs (`path/to/file.py:function`, relative to the
    project folder), an optional cron schedule in the schedule's time zone, default parameters
    and tags."""

    name: str
    flow_name: str
    entrypoint: str
    parameters: dict[str, Any] = field(default_factory=dict)
    tags: tuple[str, ...] = ()
    cron: str | None = None
    timezone: str = TIMEZONE
    triggers: tuple[dict[str, Any], ...] = ()

    @property
    def full_name(self) -> str:
        """`FLOW/DEPLOYMENT`, the name `prefect deployment run` and `run_deployment` take."""
        return f"{self.flow_name}/{self.name}"

    @property
    def import_path(self) -> str:
        """The entrypoint as `package.module.function`, independent of the working folder."""
        path, function = self.entrypoint.split(":")
        return f"{path.removesuffix('.py').replace('/', '.')}.{function}"

    def load_flow(self) -> "Flow":
        """Import the flow object the entrypoint names (its module from the installed package)."""
        module, function = self.import_path.rsplit(".", 1)
        return getattr(importlib.import_module(module), function)


# The ingest flow's event when new observations complete a month (flows/ingest.py): a retrain
# as of that month; the cron schedule stays as the fallback.
MONTH_COMPLETE_TRIGGER: dict[str, Any] = {
    "type": "event",
    "enabled": True,
    "match": {"prefect.resource.id": "tempcast.observations"},
    "expect": ["tempcast.observations.month-complete"],
    "parameters": {"as_of": "{{ event.payload.month }}"},
}


def flow_deployment(
    name: str, cron: str | None = None, triggers: tuple[dict[str, Any], ...] = ()
) -> DeploymentSpec:
    """The deployment `name/name` of the flow in flows/<name>.py, with the default parameters."""
    return DeploymentSpec(
        name=name,
        flow_name=name,
        entrypoint=f"flows/{name}.py:{name}_flow",
        parameters=DEFAULT_PARAMETERS,
        tags=("tempcast", name),
        cron=cron,
        triggers=triggers,
    )


DEPLOYMENTS: tuple[DeploymentSpec, ...] = (
    # The monthly job, early on the 2nd: as_of is left unset so that a scheduled run cuts the
    # data at the month before its scheduled date (tasks.data.asof), every location is retrained.
    flow_deployment("retrain", cron=MONTHLY_CRON, triggers=(MONTH_COMPLETE_TRIGGER,)),
    # Re-runs the pipeline as of each month in a range: start and end are given at run time.
    flow_deployment("backfill"),
    # A one-off training of every location on all the data, run on demand.
    flow_deployment("train"),
)


def build_deployment(spec: DeploymentSpec) -> "RunnerDeployment":
    """The spec as a deployment to serve; its entrypoint is the flow's module path, so that it
    does not depend on the folder `tempcast serve` is started in."""
    from prefect.deployments.runner import EntrypointType
    from prefect.events import DeploymentEventTrigger
    from prefect.schedules import Cron

    return spec.load_flow().to_deployment(
        name=spec.name,
        schedule=Cron(spec.cron, timezone=spec.timezone) if spec.cron else None,
        parameters=dict(spec.parameters),
        tags=list(spec.tags),
        triggers=[DeploymentEventTrigger(**trigger) for trigger in spec.triggers],
        entrypoint_type=EntrypointType.MODULE_PATH,
    )


def require_server() -> str:
    """The configured Prefect API URL, once it answers; a TempcastError when none is set (the
    ephemeral API cannot schedule runs) or nothing answers there."""
    from prefect.client.orchestration import get_client
    from prefect.settings import get_current_settings

    url = get_current_settings().api.url
    if not url:
        raise TempcastError(f"{SERVER_HINT} (PREFECT_API_URL is not set)")
    with get_client(sync_client=True) as client:
        error = client.api_healthcheck()
    if error is not None:
        raise TempcastError(
            f"{SERVER_HINT} (no Prefect server answers at PREFECT_API_URL={url}:"
            f" {type(error).__name__})"
        )
    return url


def on_work_pools(specs: tuple[DeploymentSpec, ...]) -> dict[str, str]:
    """The deployments the server already has on a work pool (`prefect deploy`), with the pool.

    Serving them again keeps that pool, so a worker on it would take their runs and run them in
    a temporary folder instead of this one."""
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    pools = {}
    with get_client(sync_client=True) as client:
        for spec in specs:
            try:
                deployment = client.read_deployment_by_name(spec.full_name)
            except ObjectNotFound:
                continue
            if deployment.work_pool_name:
                pools[spec.full_name] = deployment.work_pool_name
    return pools


def serve_deployments() -> None:
    """Register every deployment with the Prefect server and run their flows from this process
    until it is stopped (Ctrl-C or SIGTERM, which also pause their schedules)."""
    require_server()
    from prefect import serve
    from prefect.logging import get_logger

    pools = on_work_pools(DEPLOYMENTS)
    for pool in sorted(set(pools.values())):
        names = ", ".join(name for name, on in pools.items() if on == pool)
        get_logger("tempcast").warning(
            f"already deployed to work pool {pool!r}: {names}; stop that pool's workers while"
            " `tempcast serve` runs, or they will take these runs"
        )
    serve(*(build_deployment(spec) for spec in DEPLOYMENTS))
