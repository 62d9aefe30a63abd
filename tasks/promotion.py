"""Champion/challenger promotion: a new model replaces production only when it is better.

The current champion is re-scored on the newest holdout (the same months the challenger was
tested on), so the two are compared on equal terms, never by old numbers.
"""

import math
from dataclasses import dataclass

from prefect import task
from prefect.cache_policies import NO_CACHE
from prefect.tasks import exponential_backoff

from tasks.baselines import error_metrics
from tasks.datasets import LocationData
from tasks.model import predict
from tasks.tracking import (
    TrackedLocation,
    champion_version,
    load_version,
    promotion_lock,
    record_decision,
    recorded_decision,
)


@dataclass(frozen=True)
class ChampionScore:
    """The current champion's version and its MAE on the new holdout (None: it cannot be scored)."""

    version: str
    mae: float | None
    note: str = ""


@dataclass(frozen=True)
class Decision:
    """What the promotion step decided for one location, and why."""

    location: str
    challenger_version: str
    challenger_mae: float
    champion_version: str | None
    champion_mae: float | None
    promoted: bool
    reason: str


def decide(
    challenger_metrics: dict[str, float], champion: ChampionScore | None
) -> tuple[bool, str]:
    """The promotion rule: promote when every challenger metric is finite and there is no
    champion, or the champion cannot be scored on this holdout, or the challenger's holdout MAE
    is strictly lower than the champion's."""
    mae = challenger_metrics["test_mae"]
    bad = sorted(name for name, value in challenger_metrics.items() if not math.isfinite(value))
    if bad:
        return False, f"not promoted: non-finite metrics ({', '.join(bad)})"
    if champion is None:
        return True, f"promoted: no champion yet (holdout MAE {mae:.4f})"
    if champion.mae is None or not math.isfinite(champion.mae):
        return True, f"promoted: champion v{champion.version} cannot be scored ({champion.note})"
    if mae < champion.mae:
        return True, (
            f"promoted: holdout MAE {mae:.4f} < champion v{champion.version}'s {champion.mae:.4f}"
        )
    return False, (
        f"kept champion v{champion.version}: holdout MAE {mae:.4f} >= champion's {champion.mae:.4f}"
    )


def score_champion(data: LocationData) -> ChampionScore | None:
    """Load the location's champion, if any, and score it on the data's test window."""
    version = champion_version(data.location)
    if version is None:
        return None
    model = load_version(data.location, version)
    timestep, horizon = data.split.test.x.shape[1], data.split.test.y.shape[1]
    shape = (model.input_shape[1], model.output_shape[1])
    if shape != (timestep, horizon):
        note = f"it maps {shape[0]} months to {shape[1]}, not {timestep} to {horizon}"
        return ChampionScore(version, None, note)
    forecast = predict(model, data.split.test.x)[-1]
    actual = data.split.test.y[-1, :, 0]
    return ChampionScore(version, error_metrics(actual, forecast)["mae"])


@task(
    name="promote",
    cache_policy=NO_CACHE,
    retries=2,
    retry_delay_seconds=exponential_backoff(backoff_factor=5),
)
def promote(data: LocationData, tracked: TrackedLocation) -> Decision:
    """Prefect task: under the location's promotion lock, re-score the champion, decide, move
    the aliases and tag the decision.

    A decision already recorded for this run is returned as it is (a repeated or resumed flow
    decides once), and a version already champion without one was promoted by an attempt that
    stopped before recording it.
    """
    version, mae = tracked.model_version, tracked.metrics["test_mae"]
    with promotion_lock(data.location):
        recorded = recorded_decision(tracked.run_id)
        if recorded is not None:
            return Decision(data.location, version, mae, None, None, *recorded)
        champion = score_champion(data)
        seen = champion.version if champion else None
        if seen == version:  # an earlier attempt moved `champion` here, then could not record why
            champion = None
            promoted, reason = True, "promoted: made champion by an interrupted earlier attempt"
        else:
            promoted, reason = decide(tracked.metrics, champion)
        record_decision(data.location, version, tracked.run_id, promoted, reason, champion)
    return Decision(
        data.location, version, mae, seen, champion.mae if champion else None, promoted, reason
    )
