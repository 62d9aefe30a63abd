"""Units of work: a location trained as of a month, with given settings, on given data.

A unit is done when it has a FINISHED run; repeating a flow reuses done units instead of
training them again. A RUNNING run whose process is gone (a crash, kill -9) is marked KILLED
and its unit done again; a RUNNING run whose process is alive is left to finish.
"""

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

from prefect import task
from prefect.cache_policies import NO_CACHE

from tasks.tracking.ownership import is_abandoned
from tasks.tracking.runs import finish_run, runs_tagged
from tasks.tracking.store import STORE_RETRIES

UNIT_TAG = "tempcast.unit"


def short_hash(*parts: str) -> str:
    """First 16 hex digits of the SHA-256 of the parts."""
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


def unit_key(kind: str, location: str, as_of: str, settings_digest: str, data_digest: str) -> str:
    """The identity of a unit: kind, location, as_of, settings and data version."""
    return short_hash(kind, location, as_of, settings_digest, data_digest)


@dataclass
class UnitPlan:
    """Which units are done (with their finished run), which to do, which are busy elsewhere."""

    finished: dict[str, Any] = field(default_factory=dict)
    todo: list[str] = field(default_factory=list)
    busy: dict[str, str] = field(default_factory=dict)


@task(name="plan-units", cache_policy=NO_CACHE, **STORE_RETRIES)
def plan_units(kind: str, as_of: str, keys: dict[str, str], force: bool = False) -> UnitPlan:
    """Sort the locations' units into done, to do and busy; clear runs of crashed processes.

    With `force`, finished units are done again (their old runs stay, as history).
    """
    by_unit: dict[str, list[Any]] = {}
    for run in runs_tagged({"tempcast.kind": kind, "tempcast.as_of": as_of}):
        by_unit.setdefault(run.data.tags.get(UNIT_TAG, ""), []).append(run)
    plan = UnitPlan()
    for location, key in keys.items():
        runs = by_unit.get(key, [])
        finished = [run for run in runs if run.info.status == "FINISHED"]
        if finished and not force:
            plan.finished[location] = max(finished, key=lambda run: run.info.start_time)
            continue
        running = [run for run in runs if run.info.status == "RUNNING"]
        live = [run for run in running if not is_abandoned(run)]
        if live:
            plan.busy[location] = f"in progress in another process (run {live[0].info.run_id})"
            continue
        for run in running:
            finish_run(run.info.run_id, "KILLED")
        plan.todo.append(location)
    return plan


def batch_key(
    kind: str, label: str, settings: dict[str, Any], data_digest: str, locations: list[str]
) -> str:
    """The identity of a flow run's batch of units (for its parent run): repeating or resuming
    the same batch reuses the parent run."""
    text = json.dumps(settings, sort_keys=True, default=str)
    return short_hash(kind, label, text, data_digest, *sorted(locations))
