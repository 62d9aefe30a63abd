"""A real `mlflow server` for integration tests: tracking and the registry over HTTP.

`MlflowServer(folder)` serves a sqlite backend store (`folder/mlflow.db`) and proxies artifacts
into `folder/artifacts`, on a free 127.0.0.1 port, with one worker and telemetry off. `start()`
waits for `/health`; `stop()` stops its whole process group. It can be stopped and started
again on the same port and store (a tracking server that goes away and comes back), and
`mlflow_server()` runs one for the length of a `with` block. `tempcast_env()` is the environment
of a `python -m flows ...` subprocess: a given tracking store, and the test session's Prefect API
(so that it starts no temporary Prefect server of its own).
"""

import contextlib
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from tests.support.prefect_server import free_port, healthy, start_logged, stop_group, tail

MLFLOW = Path(sys.executable).parent / "mlflow"
QUIET = {"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true", "PYTHONUNBUFFERED": "1"}
# tempcast runs no MLflow server jobs (GenAI); without this, each server start spawns seven Huey
# consumer processes (about 21 s of CPU in all, measured in the suite)
NO_JOB_RUNNERS = {"MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}


def tempcast_env(tracking_uri: str, **extra: str) -> dict[str, str]:
    """The environment of a tempcast subprocess: this one without MLflow or Prefect settings,
    telemetry off, the tracking store `tracking_uri`, the session's Prefect API; `extra` last.
    A process that crashes in native code prints every thread's Python stack (faulthandler)."""
    from prefect.settings import PREFECT_API_URL

    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("MLFLOW_", "PREFECT_"))
    }
    env.update(QUIET, TF_CPP_MIN_LOG_LEVEL="3", MLFLOW_TRACKING_URI=tracking_uri)
    env["PYTHONFAULTHANDLER"] = "1"
    api_url = PREFECT_API_URL.value()
    assert api_url, "no Prefect API: run inside the test session's harness"
    env["PREFECT_API_URL"] = api_url
    env.update(extra)
    return env


class MlflowServer:
    """One `mlflow server` (sqlite store, local artifacts, `--workers 1`) in its own process
    group; stop and start it again to simulate an outage of the tracking server."""

    def __init__(self, folder: Path, port: int | None = None) -> None:
        self.folder = folder
        self.port = port or free_port()
        self.uri = f"http://127.0.0.1:{self.port}"
        self.log = folder / "server.log"
        self.process: subprocess.Popen | None = None
        folder.mkdir(parents=True, exist_ok=True)

    def command(self) -> list[str]:
        """The server's command line."""
        return [
            str(MLFLOW),
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--backend-store-uri",
            f"sqlite:///{self.folder / 'mlflow.db'}",
            "--artifacts-destination",
            str(self.folder / "artifacts"),
            "--workers",
            "1",
        ]

    def launch(self) -> None:
        """Start the server process (on the same port and store as before), without waiting."""
        assert not self.running, "already running"
        env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_")}
        env.update(QUIET, **NO_JOB_RUNNERS)
        self.process = start_logged(self.command(), self.log, env, self.folder)

    def wait(self, timeout: float = 240) -> str:
        """Wait until the launched server answers; returns its URI."""
        assert self.process is not None, "never launched"
        deadline = time.monotonic() + timeout
        while not healthy(self.uri):
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"mlflow server exited ({self.process.returncode}):\n{tail(self.log)}"
                )
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError(
                    f"no healthy mlflow server after {timeout:.0f}s:\n{tail(self.log)}"
                )
            time.sleep(0.2)
        return self.uri

    def start(self, timeout: float = 240) -> str:
        """Start the server and wait until it answers; returns its URI."""
        self.launch()
        return self.wait(timeout)

    def stop(self) -> None:
        """Stop the server and every process it started; it no longer answers afterwards."""
        if self.process is not None:
            stop_group(self.process)
        deadline = time.monotonic() + 30
        while healthy(self.uri) and time.monotonic() < deadline:
            time.sleep(0.1)

    @property
    def running(self) -> bool:
        """Whether the server process is alive."""
        return self.process is not None and self.process.poll() is None


@contextlib.contextmanager
def mlflow_server(folder: Path | None = None) -> Iterator[MlflowServer]:
    """A started MlflowServer for the `with` block (in `folder`, or a temporary one), stopped at
    the end."""
    with contextlib.ExitStack() as stack:
        if folder is None:
            folder = Path(
                stack.enter_context(tempfile.TemporaryDirectory(prefix="tempcast-mlflow-"))
            )
        server = MlflowServer(folder)
        server.start()
        stack.callback(server.stop)
        yield server


def all_runs(client) -> list:
    """Every run of the tempcast experiment of an MlflowClient's store."""
    experiment = client.get_experiment_by_name("tempcast")
    if experiment is None:
        return []
    return client.search_runs([experiment.experiment_id], max_results=1000)
