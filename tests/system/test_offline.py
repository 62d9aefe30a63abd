"""Offline by default: the project switches the telemetry of Prefect and MLflow off itself. The
test helpers set the switches for every process they start (tests/support/prefect_server.py and
mlflow_server.py: QUIET), so here a process starts with none of them, nor anything that tells
MLflow or Prefect it runs in a test or CI (they then stay quiet on their own): a user's shell."""

import json
import subprocess
import sys

from tests.support.prefect_server import users_shell

TELEMETRY_SWITCHES = {
    "DO_NOT_TRACK": "true",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
}
# What the `tempcast` command imports first, then MLflow and Prefect (as its flows do), and
# what each library decides.
PROBE = """
import json, os
import flows.cli
import mlflow
from mlflow.telemetry.client import get_telemetry_client
from mlflow.telemetry.utils import _is_ci_env_or_testing, is_telemetry_disabled
from prefect._internal.analytics.ci_detection import is_ci_environment
from prefect.analytics import is_telemetry_enabled
from prefect.settings import get_current_settings

print(json.dumps({{
    "switches": {{name: os.environ.get(name) for name in {switches!r}}},
    "told_by_the_environment": _is_ci_env_or_testing() or is_ci_environment(),
    "mlflow_client": get_telemetry_client() is not None,
    "mlflow_disabled": is_telemetry_disabled(),
    "prefect_enabled": is_telemetry_enabled(),
    "prefect_server_analytics": get_current_settings().server.analytics_enabled,
}}))
"""


def test_telemetry_is_off_by_the_projects_own_switch(tmp_path):
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(switches=tuple(TELEMETRY_SWITCHES))],
        cwd=tmp_path,
        env=users_shell(),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert not found.pop("told_by_the_environment"), "the probe must start unswitched"
    assert found == {
        "switches": TELEMETRY_SWITCHES,  # for every process it starts too
        "mlflow_client": False,
        "mlflow_disabled": True,
        "prefect_enabled": False,
        "prefect_server_analytics": False,
    }
