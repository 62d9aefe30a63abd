"""Which process owns a run or a lock, so that a later attempt can tell a crashed one from a live
one: a RUNNING run whose process is gone (a crash, kill -9) is abandoned."""

import contextlib
import os
import socket
from collections.abc import Iterator
from typing import Any

from mlflow.tracking import MlflowClient
from mlflow.tracking.context.registry import resolve_tags
from mlflow.utils.mlflow_tags import MLFLOW_PARENT_RUN_ID, MLFLOW_RUN_NAME

from tasks.tracking.store import now_ms

CRASH_LEASE_SECONDS = 6 * 3600
_OPEN_RUNS: set[str] = set()  # the child runs this process is logging right now


def owner_tags() -> dict[str, str]:
    """The host and process making a run or taking a lock."""
    return {"tempcast.host": socket.gethostname(), "tempcast.pid": str(os.getpid())}


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def owner_gone(tags: dict[str, str], since_ms: int, lease_seconds: float) -> bool | None:
    """Whether the process named by owner tags is gone: asked directly on this host, else judged
    by age (older than the lease). None when the owner is this very process."""
    if tags.get("tempcast.host") == socket.gethostname() and tags.get("tempcast.pid", "").isdigit():
        pid = int(tags["tempcast.pid"])
        return None if pid == os.getpid() else not _process_alive(pid)
    return (now_ms() - since_ms) / 1000 > lease_seconds


def is_abandoned(run: Any) -> bool:
    """True for a RUNNING run whose process is gone (see owner_gone). A run of this very process
    is abandoned unless it is open (an earlier attempt in this process failed, say while the
    store was unreachable, and could not end it)."""
    gone = owner_gone(run.data.tags, run.info.start_time, CRASH_LEASE_SECONDS)
    return run.info.run_id not in _OPEN_RUNS if gone is None else gone


@contextlib.contextmanager
def owned_run(
    client: MlflowClient, experiment_id: str, name: str, parent_run_id: str, tags: dict[str, str]
) -> Iterator[str]:
    """A child run with the owner's tags (and MLflow's usual source and user tags), counted as
    open in this process while it lasts: a RUNNING run of this process that is not open was left
    by a failed attempt. It ends FINISHED, or FAILED when the block raises. Made through the
    client, not as the thread's active run: fewer calls to the store than mlflow.start_run."""
    tags = {**tags, **owner_tags(), MLFLOW_PARENT_RUN_ID: parent_run_id, MLFLOW_RUN_NAME: name}
    run = client.create_run(experiment_id, run_name=name, tags=resolve_tags(tags))
    run_id = run.info.run_id
    _OPEN_RUNS.add(run_id)
    try:
        yield run_id
    except BaseException:
        client.set_terminated(run_id, status="FAILED")
        raise
    finally:
        _OPEN_RUNS.discard(run_id)
    client.set_terminated(run_id, status="FINISHED")
