"""The deployments against a real Prefect server: `tempcast serve` registers them with their
schedule and runs a triggered retrain; `prefect deploy` accepts prefect.yaml; prefect.yaml and
flows/deployments.py agree; `tempcast serve` without a server fails in one line."""

import subprocess
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from flows.deployments import DEPLOYMENTS, WORK_POOL, DeploymentSpec
from tests.support.prefect_server import (
    PREFECT,
    TEMPCAST,
    api_settings,
    free_port,
    prefect_env,
    prefect_server,
    start_logged,
    stop_group,
    tail,
)
from tests.support.synthetic import synthetic_observations, write_observations

ROOT = Path(__file__).resolve().parents[2]
SPECS = {spec.name: spec for spec in DEPLOYMENTS}
# backfill joins these once flows/backfill.py exists: then `deploy --all` replaces the names
DEPLOYED = ("retrain", "backfill", "train")
TINY = {"epochs": 1, "timestep": 6, "horizon": 6, "units": 4, "validation_months": 6}


@pytest.fixture(scope="module")
def server() -> str:
    """One real Prefect server for the whole file."""
    with prefect_server() as api_url:
        yield api_url


@pytest.fixture
def client_env(server, tmp_path):
    """The environment of a subprocess that talks to the test server."""
    home = tmp_path / "prefect-home"
    home.mkdir()
    return prefect_env(server, home, MLFLOW_TRACKING_URI=f"sqlite:///{tmp_path / 'mlflow.db'}")


def read_deployment(api_url: str, spec: DeploymentSpec):
    """The deployment as the server has it, or None."""
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    with api_settings(api_url), get_client(sync_client=True) as client:
        try:
            return client.read_deployment_by_name(spec.full_name)
        except ObjectNotFound:
            return None


def deploy_to_pool(api_url: str, spec: DeploymentSpec) -> None:
    """What an earlier `prefect deploy` leaves on the server: the pool, the deployment on it."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate

    with api_settings(api_url), get_client(sync_client=True) as client:
        client.create_work_pool(WorkPoolCreate(name=WORK_POOL, type="process"), overwrite=True)
        flow_id = client.create_flow_from_name(spec.flow_name)
        client.create_deployment(
            flow_id, spec.name, entrypoint=spec.entrypoint, work_pool_name=WORK_POOL
        )


def schedules(deployment) -> list[tuple[str, str, bool]]:
    """(cron, timezone, active) of each of a deployment's schedules."""
    return [(s.schedule.cron, s.schedule.timezone, s.active) for s in deployment.schedules]


def expected_schedules(spec: DeploymentSpec) -> list[tuple[str, str, bool]]:
    return [(spec.cron, spec.timezone, True)] if spec.cron else []


def month_complete_trigger(api_url: str, deployment_id: object) -> dict:
    """The parameters of the run that the deployment's one automation starts, checked to be
    started by the ingest's month-complete event."""
    from prefect.client.orchestration import get_client

    with api_settings(api_url), get_client(sync_client=True) as client:
        automations = client.read_resource_related_automations(
            f"prefect.deployment.{deployment_id}"
        )
    assert [a.trigger.expect for a in automations] == [{"tempcast.observations.month-complete"}]
    return automations[0].actions[0].parameters


def test_serve_registers_the_schedule_and_runs_a_triggered_retrain(server, client_env, tmp_path):
    from prefect.client.schemas.objects import StateType
    from prefect.deployments import run_deployment

    data = write_observations(
        synthetic_observations(("Alpha", "Bravo"), "2009-01-01", "2013-12-31"),
        tmp_path / "obs.csv",
    )
    deploy_to_pool(server, SPECS["train"])
    log_path = tmp_path / "serve.log"
    serving = start_logged([TEMPCAST, "serve"], log_path, client_env, tmp_path)
    try:
        deadline = time.monotonic() + 90
        served = {}
        while len(served) < len(DEPLOYMENTS):  # registered one after the other
            assert serving.poll() is None, f"tempcast serve exited:\n{tail(log_path)}"
            assert time.monotonic() < deadline, f"{list(served)} after 90s:\n{tail(log_path)}"
            time.sleep(0.5)
            for spec in DEPLOYMENTS:
                found = read_deployment(server, spec)
                if found is not None and found.entrypoint == spec.import_path:
                    served[spec.name] = found
        for spec in DEPLOYMENTS:
            deployment = served[spec.name]
            assert schedules(deployment) == expected_schedules(spec)
            assert deployment.parameters == spec.parameters
            assert set(deployment.tags) == set(spec.tags)
        retrain = served["retrain"]
        assert schedules(retrain) == [("0 3 2 * *", "Australia/Sydney", True)]
        assert retrain.parameters == {"settings": {"recipe": "default", "selection": "auto"}}
        assert month_complete_trigger(server, retrain.id) == {"as_of": "{{ event.payload.month }}"}

        # an earlier `prefect deploy` put train on the pool: serving it again says so
        warnings = [line for line in tail(log_path, 100_000).splitlines() if "work pool" in line]
        assert len(warnings) == 1, tail(log_path)
        assert "already deployed to work pool 'tempcast': train/train;" in warnings[0]

        out = tmp_path / "out"
        settings = {"data": str(data), "training": TINY, "out": str(out)}
        parameters = {"as_of": "2013-06", "settings": settings}
        with api_settings(server):
            flow_run = run_deployment(
                SPECS["retrain"].full_name, parameters=parameters, timeout=150, poll_interval=1
            )
        assert flow_run.state.type == StateType.COMPLETED, (
            f"{flow_run.state.type}: {flow_run.state.message}\n{tail(log_path)}"
        )
        assert flow_run.parameters == {**SPECS["retrain"].parameters, **parameters}
        forecasts = pd.read_csv(out / "forecasts.csv")
        assert set(forecasts["location"]) == {"Alpha", "Bravo"}
        assert set(forecasts["as_of"]) == {"2013-06"}
        assert len(forecasts) == 2 * TINY["horizon"]
    finally:
        stop_group(serving)  # SIGTERM: Ctrl-C's SIGINT may be ignored in a background job


def test_prefect_deploy_accepts_prefect_yaml(server, client_env):
    def prefect(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [PREFECT, *args],
            cwd=ROOT,
            env=client_env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=120,
        )

    created = prefect("work-pool", "create", WORK_POOL, "--type", "process", "--overwrite")
    assert created.returncode == 0, created.stdout + created.stderr
    deployed = prefect("--no-prompt", "deploy", "--all")
    assert deployed.returncode == 0, deployed.stdout[-3000:] + deployed.stderr[-3000:]

    for name in DEPLOYED:
        spec = SPECS[name]
        deployment = read_deployment(server, spec)
        assert deployment is not None, spec.full_name
        assert deployment.work_pool_name == WORK_POOL
        assert not deployment.paused, "a schedule paused by a stopped `tempcast serve` stays off"
        assert deployment.entrypoint == spec.entrypoint
        assert schedules(deployment) == expected_schedules(spec)
        assert deployment.parameters == spec.parameters
        assert set(deployment.tags) == set(spec.tags)
        # runs start in the project folder, the one `prefect deploy` ran in
        assert deployment.pull_steps == [
            {"prefect.deployments.steps.set_working_directory": {"directory": str(ROOT)}}
        ]


def test_prefect_yaml_agrees_with_flows_deployments():
    project = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    in_yaml = {
        entry["name"]: (
            entry["entrypoint"],
            [(s["cron"], s["timezone"], s.get("active", True)) for s in entry.get("schedules", [])],
            entry.get("parameters", {}),
            set(entry.get("tags", [])),
            entry["work_pool"]["name"],
            entry.get("triggers", []),
        )
        for entry in project["deployments"]
    }
    in_python = {
        spec.name: (
            spec.entrypoint,
            expected_schedules(spec),
            spec.parameters,
            set(spec.tags),
            WORK_POOL,
            list(spec.triggers),
        )
        for spec in DEPLOYMENTS
    }
    assert in_yaml == in_python
    assert set(in_yaml) == {"retrain", "backfill", "train"}
    assert SPECS["retrain"].cron == "0 3 2 * *"
    assert SPECS["retrain"].timezone == "Australia/Sydney"


@pytest.mark.parametrize("api_url", [None, "unreachable"])
def test_serve_without_a_server_fails_in_one_line(api_url, tmp_path):
    if api_url == "unreachable":
        api_url = f"http://127.0.0.1:{free_port()}/api"
    result = subprocess.run(
        [TEMPCAST, "serve"],
        cwd=tmp_path,
        env=prefect_env(api_url, tmp_path),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("tempcast: error: `tempcast serve` needs a Prefect server")
    assert "prefect server start --host 127.0.0.1" in lines[0]
    assert "PREFECT_API_URL=http://127.0.0.1:4200/api" in lines[0]
    assert "Traceback" not in result.stdout + result.stderr
