"""A real, isolated Prefect server for integration tests (schedules, deployments, workers).

`prefect_server()` starts `prefect server start` on a free 127.0.0.1 port with its own temporary
PREFECT_HOME (and none of the caller's PREFECT_* variables), waits until the API is healthy,
yields the API URL, and at the end stops the whole process group and removes the home.
`prefect_env()` gives subprocesses (tempcast, the prefect CLI, workers) the settings to reach it;
`api_settings()` points in-process clients at it, over the test session's harness.
"""

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

BIN = Path(sys.executable).parent
PREFECT = BIN / "prefect"
TEMPCAST = BIN / "tempcast"

QUIET = {
    "DO_NOT_TRACK": "true",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_CLI_PROMPT": "false",
    "PYTHONUNBUFFERED": "1",
    "TF_CPP_MIN_LOG_LEVEL": "3",
}


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def prefect_env(api_url: str | None, home: Path, **extra: str) -> dict[str, str]:
    """The environment for a subprocess: this one without any PREFECT_* variable (no profile,
    API URL or setting leaks in), telemetry off, no prompts, PREFECT_HOME `home`, and
    PREFECT_API_URL `api_url` unless it is None; `extra` is added last. A served flow or a
    worker looks for runs to start every second (not every 10 s: time a test would wait idle)."""
    env = {name: value for name, value in os.environ.items() if not name.startswith("PREFECT_")}
    env.update(QUIET, PREFECT_HOME=str(home))
    env.update(PREFECT_RUNNER_POLL_FREQUENCY="1", PREFECT_WORKER_QUERY_SECONDS="1")
    if api_url is not None:
        env["PREFECT_API_URL"] = api_url
    env.update(extra)
    return env


def users_shell(**extra: str) -> dict[str, str]:
    """A plain environment, as a user's shell has it: the search path, home and language, no
    Prefect, MLflow or tempcast setting, no telemetry switch, nothing that says "test" or "CI";
    `extra` added."""
    kept = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")
    return {**{name: os.environ[name] for name in kept if name in os.environ}, **extra}


@contextlib.contextmanager
def api_settings(api_url: str) -> Iterator[None]:
    """Point in-process Prefect clients (get_client, run_deployment) at `api_url`."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: api_url}):
        yield


def start_logged(
    command: list[str], log: Path, env: dict[str, str], cwd: Path | None = None
) -> subprocess.Popen:
    """Start `command` in its own process group (for `stop_group`), its output appended to
    `log`, with no input."""
    with log.open("a") as output:
        return subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def stop_group(process: subprocess.Popen, sig: int = signal.SIGTERM, grace: float = 20) -> int:
    """Stop a process started with `start_new_session=True` and every child it started:
    `sig` to the group, then SIGKILL after `grace` seconds. Returns its exit status."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    # children that outlived the leader (a flow-run subprocess) go too
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    return process.returncode


def tail(path: Path, chars: int = 3000) -> str:
    """The end of a log file, for assertion messages."""
    return path.read_text(errors="replace")[-chars:] if path.exists() else ""


def healthy(url: str) -> bool:
    """Whether the server at `url` (a Prefect API or an MLflow tracking server) answers its
    health check."""
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via a proxy
    try:
        with direct.open(f"{url}/health", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def start_server(home: Path, port: int, log: Path) -> subprocess.Popen:
    """`prefect server start` on 127.0.0.1:`port`, without the UI or analytics, in its own
    process group, with its database in `home` and its output in `log`."""
    command = [PREFECT, "server", "start", "--host", "127.0.0.1", "--port", str(port)]
    env = prefect_env(None, home, PREFECT_SERVER_UI_ENABLED="false")
    return start_logged([*command, "--no-ui", "--analytics-off"], log, env)


@contextlib.contextmanager
def prefect_server(timeout: float = 120, attempts: int = 3) -> Iterator[str]:
    """Start an isolated Prefect server, yield its API URL (http://127.0.0.1:PORT/api), stop it.

    The server's database and log (`server.log`) live in a temporary PREFECT_HOME that is removed
    at the end. A server that exits while starting (a port taken in between, say) is retried on
    another port.
    """
    home = Path(tempfile.mkdtemp(prefix="tempcast-prefect-"))
    log = home / "server.log"
    try:
        for attempt in range(1, attempts + 1):
            port = free_port()
            api_url = f"http://127.0.0.1:{port}/api"
            process = start_server(home, port, log)
            try:
                deadline = time.monotonic() + timeout
                while process.poll() is None and not healthy(api_url):
                    if time.monotonic() > deadline:
                        raise TimeoutError(
                            f"no healthy prefect server after {timeout:.0f}s:\n{tail(log)}"
                        )
                    time.sleep(0.25)
                if process.poll() is None:
                    yield api_url
                    return
                if attempt == attempts:
                    raise RuntimeError(
                        f"prefect server exited ({process.returncode}):\n{tail(log)}"
                    )
            finally:
                stop_group(process)
    finally:
        shutil.rmtree(home, ignore_errors=True)
