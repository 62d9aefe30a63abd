"""The model registry: each location's `champion` and `challenger` aliases, the settings every
version was trained with, the promotion lock, and the promotion decisions recorded as tags."""

import contextlib
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass

from mlflow.entities import Metric, RunTag
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from tasks.errors import InfrastructureError
from tasks.tracking.compat import registry_writer
from tasks.tracking.ownership import owner_gone, owner_tags
from tasks.tracking.runs import TrackedLocation
from tasks.tracking.store import (
    MODEL_PREFIX,
    mlflow_client,
    model_name,
    names_the_store,
    now_ms,
)

CHAMPION, CHALLENGER = "champion", "challenger"
PROMOTION_TAG, PROMOTED_TAG = "tempcast.promotion", "tempcast.promoted"
SETTINGS_TAG, SETTINGS_DIGEST_TAG = "settings", "settings_digest"
LOCK_PREFIX = "tempcast.lock."  # a dot never occurs in a location's registered model name
LOCK_LEASE_SECONDS = 600
LOCK_WAIT_SECONDS = 600


@dataclass(frozen=True)
class Champion:
    """A location's current champion: its version, its run, and the version's tags (as_of,
    data digest, and the settings it was trained with, where recorded)."""

    version: str
    run_id: str
    tags: dict[str, str]


@names_the_store
def current_champion(location: str) -> Champion | None:
    """The version the location's `champion` alias points to, or None."""
    client = mlflow_client()
    try:
        found = client.get_model_version_by_alias(model_name(location), CHAMPION)
    except MlflowException as error:
        if error.error_code in ("RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"):
            return None
        raise
    return Champion(str(found.version), found.run_id, dict(found.tags))


@names_the_store
def version_run_id(location: str, version: str) -> str:
    """The run that logged a registered version of the location's model."""
    return mlflow_client().get_model_version(model_name(location), version).run_id


@names_the_store
def _take_lock(client: MlflowClient, name: str) -> bool:
    """Create the lock's registered model (the registry refuses a second one with the same
    name); remove it instead when its holder is gone (a crashed or killed process)."""
    try:
        client.create_registered_model(
            name,
            tags={**owner_tags(), "taken_ms": str(now_ms())},
            description="tempcast promotion lock: one promotion of this location at a time",
        )
        return True
    except MlflowException as error:
        if error.error_code != "RESOURCE_ALREADY_EXISTS":
            raise
    with contextlib.suppress(MlflowException):  # it may just have been released
        held = client.get_registered_model(name).tags
        if owner_gone(held, int(held.get("taken_ms", "0")), LOCK_LEASE_SECONDS):
            registry_writer(client).delete_registered_model(name)  # its holder crashed
    return False


@names_the_store
def _release_lock(client: MlflowClient, name: str) -> None:
    """Delete the lock's registered model."""
    registry_writer(client).delete_registered_model(name)


@contextlib.contextmanager
def promotion_lock(location: str) -> Iterator[None]:
    """Hold the location's promotion lock while deciding and moving aliases, so that two
    retrains at once never compare against a champion the other is replacing. The lock is a
    registered model named `tempcast.lock.<location>`; creating a name twice is refused
    atomically by the registry, whichever store or server is behind it."""
    client = mlflow_client()
    name = LOCK_PREFIX + model_name(location).removeprefix(MODEL_PREFIX)
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    while not _take_lock(client, name):
        if time.monotonic() > deadline:
            raise InfrastructureError(
                f"promotion lock {name} stayed taken for {LOCK_WAIT_SECONDS} s"
            )
        time.sleep(0.5)
    try:
        yield
    finally:
        _release_lock(client, name)


def version_description(
    as_of: str | None, test_metrics: dict[str, float], promoted: bool, reason: str
) -> str:
    """One line to read at a glance in the registry: the version's as_of, its test MAE beside
    climatology's, and whether it was promoted and why."""
    if "test_mae" in test_metrics:
        climatology = test_metrics.get("baseline_climatology_mae", math.nan)
        score = f"test MAE {test_metrics['test_mae']:.3f} °C vs climatology {climatology:.3f} °C"
    else:
        score = "no test window, not scored"
    verdict = "promoted to champion" if promoted else "not promoted"
    why = reason.removeprefix("promoted: ").removeprefix("not promoted: ")
    return f"as_of {as_of or 'unknown'} | {score} | {verdict} ({why})"


@names_the_store
def record_decision(
    tracked: TrackedLocation, promoted: bool, reason: str, metrics: dict[str, float]
) -> None:
    """Apply a promotion decision on a tracked location's version (under its promotion lock).

    Order: `champion` (when promoted), then `challenger`, then the version's tags and its
    description (version_description, from its as_of and test metrics), then the decision tags,
    which mark the run's promotion as complete. The version's run is already finished, so no
    alias ever points to a version whose run did not finish. `metrics` (what the decision
    compared) go on the run.
    """
    client = mlflow_client()
    registry = registry_writer(client)
    name, version = model_name(tracked.location), tracked.model_version
    if promoted:
        registry.set_registered_model_alias(name, CHAMPION, version)
    registry.set_registered_model_alias(name, CHALLENGER, version)
    registry.set_model_version_tag(name, version, "promoted", str(promoted).lower())
    registry.set_model_version_tag(name, version, "promotion", reason)
    description = version_description(tracked.as_of, tracked.metrics, promoted, reason)
    registry.update_model_version(name, version, description=description)
    now = now_ms()
    client.log_batch(  # one call; the tags mark the promotion as complete, so they come last
        tracked.run_id,
        metrics=[Metric(key, float(value), now, 0) for key, value in metrics.items()],
        tags=[RunTag(PROMOTION_TAG, reason), RunTag(PROMOTED_TAG, str(promoted).lower())],
    )


@names_the_store
def recorded_decision(run_id: str) -> tuple[bool, str] | None:
    """The promotion decision already recorded on a run, if its promotion completed."""
    tags = mlflow_client().get_run(run_id).data.tags
    if PROMOTION_TAG not in tags or PROMOTED_TAG not in tags:
        return None
    return tags[PROMOTED_TAG] == "true", tags[PROMOTION_TAG]
