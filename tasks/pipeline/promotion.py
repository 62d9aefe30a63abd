"""Champion/challenger promotion that never judges a model on months it trained on.

A version's production fit has seen every month up to its as_of, so re-scoring a champion on a
newer test window would flatter it. Settings are compared instead, by evaluation fits on the same
months: the challenger's evaluation fit and one of the champion's settings, both fit on what was
known at the challenger's test window's origin and scored on that window.

The rule, in order:
1. a challenger with a non-finite metric is never promoted;
2. with no champion yet, it is promoted;
3. with the champion's settings (fresher data, same recipe and options), it is promoted unless
   its test MAE is clearly worse than climatology's (by more than CLEARLY_WORSE);
4. with other settings, it must earn promotion: it is promoted only when its test score is
   lower than that of the champion's settings on the same test window (and never without a test
   window); when the champion's settings cannot be evaluated (unknown, or fewer months than they
   need), it is promoted. The score is the quantile score when both sides have one (it rewards
   accuracy and calibration at once: what ships is a distribution), else the MAE.
Every decision is recorded as tags on the version and its run.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from prefect import task, unmapped
from prefect.cache_policies import NO_CACHE
from pydantic import ValidationError

from tasks.data.locations import LocationSeries
from tasks.logs import run_logger
from tasks.model.evaluation import evaluate_group
from tasks.model.fitting import fit_locations
from tasks.model.settings import TrainingConfig
from tasks.pipeline.failures import Progress, collect
from tasks.tracking.registry import (
    SETTINGS_DIGEST_TAG,
    SETTINGS_TAG,
    Champion,
    current_champion,
    promotion_lock,
    record_decision,
    recorded_decision,
)
from tasks.tracking.runs import TrackedLocation
from tasks.tracking.store import STORE_RETRIES

if TYPE_CHECKING:  # the batch module imports Decision from here
    from tasks.pipeline.batch import Batch, UnitResults

CLEARLY_WORSE = 0.10


@dataclass(frozen=True)
class SettingsScore:
    """The test MAE and quantile score of a champion's settings on a challenger's test window
    (None when they could not be evaluated, with the reason in `note`; a quantile score of None
    also when those settings give no distribution)."""

    version: str
    mae: float | None
    note: str = ""
    quantile_score: float | None = None

    def compared(self) -> dict[str, float]:
        """The scores as the challenger's run records them."""
        scores = {"champion_settings_test_mae": self.mae}
        scores["champion_settings_test_quantile_score"] = self.quantile_score
        return {name: value for name, value in scores.items() if value is not None}


def judged_scores(
    metrics: dict[str, float], champion_settings: SettingsScore
) -> tuple[str, float | None, float]:
    """What a settings change is judged on: (name, the challenger's, the champion settings'):
    the quantile score when both sides have one, else the test MAE."""
    challenger = metrics.get("test_quantile_score")
    if challenger is not None and champion_settings.quantile_score is not None:
        return "quantile score", challenger, champion_settings.quantile_score
    return "test MAE", metrics.get("test_mae"), champion_settings.mae or math.nan


@dataclass(frozen=True)
class Decision:
    """What the promotion step decided for one location, and why."""

    location: str
    challenger_version: str
    champion_version: str | None
    promoted: bool
    reason: str


def decide(
    metrics: dict[str, float],
    digest: str,
    champion: Champion | None,
    champion_settings: SettingsScore | None,
) -> tuple[bool, str]:
    """The promotion rule (see the module's docstring) for a challenger's metrics and settings
    digest against the champion and, where the settings differ, its settings' score."""
    bad = sorted(name for name, value in metrics.items() if not math.isfinite(value))
    if bad:
        return False, f"not promoted: non-finite metrics ({', '.join(bad)})"
    if champion is None:
        return True, "promoted: no champion yet"
    mae = metrics.get("test_mae")
    if champion.tags.get(SETTINGS_DIGEST_TAG) == digest:
        limit = metrics.get("baseline_climatology_mae", math.inf) * (1 + CLEARLY_WORSE)
        if mae is not None and mae > limit:
            return False, (
                f"kept champion v{champion.version}: test MAE {mae:.4f} is clearly worse than"
                f" climatology's {metrics['baseline_climatology_mae']:.4f}"
            )
        return True, f"promoted: the settings of champion v{champion.version}, on fresher data"
    if mae is None:
        return False, (
            f"kept champion v{champion.version}: other settings, and no test window to compare"
            " them on"
        )
    if champion_settings is None or champion_settings.mae is None:
        note = champion_settings.note if champion_settings else "no score"
        return (
            True,
            f"promoted: champion v{champion.version}'s settings cannot be evaluated ({note})",
        )
    name, challenger, theirs = judged_scores(metrics, champion_settings)
    if challenger is not None and challenger < theirs:
        return True, (
            f"promoted: {name} {challenger:.4f} < {theirs:.4f} of champion"
            f" v{champion.version}'s settings on the same months"
        )
    return False, (
        f"kept champion v{champion.version}: {name} {challenger:.4f} >= {theirs:.4f} of"
        " its settings on the same months"
    )


def recorded_settings(champion: Champion) -> TrainingConfig | str:
    """The training settings a champion was trained with, or why they cannot be read."""
    try:
        recorded = json.loads(champion.tags[SETTINGS_TAG])
        return TrainingConfig(**{name: recorded[name] for name in TrainingConfig.model_fields})
    except (KeyError, json.JSONDecodeError, ValidationError):
        return "its settings are not recorded in a form this version of tempcast reads"


def score_champion_settings(
    series: dict[str, LocationSeries], champions: dict[str, Champion], horizon: int
) -> dict[str, SettingsScore]:
    """Evaluate each champion's settings on the same test window as the challenger's (the last
    `horizon` months): one evaluation fit per distinct settings, their locations together."""
    scores, groups = {}, {}
    for location, champion in champions.items():
        config = recorded_settings(champion)
        if isinstance(config, str):
            scores[location] = SettingsScore(champion.version, None, config)
        elif config.horizon != horizon:
            note = f"they forecast {config.horizon} months, not {horizon}"
            scores[location] = SettingsScore(champion.version, None, note)
        else:
            groups.setdefault(config, []).append(location)
    for config, locations in groups.items():
        fitted = fit_locations([series[n] for n in locations], config, horizon, run_logger().info)
        for location in locations:
            version = champions[location].version
            if location in fitted.fits:
                metrics = evaluate_group(fitted.fits[location], [series[location]])[
                    location
                ].metrics
                scores[location] = SettingsScore(
                    version,
                    metrics["test_mae"],
                    quantile_score=metrics.get("test_quantile_score"),
                )
            else:
                scores[location] = SettingsScore(version, None, fitted.failures[location])
    return scores


@task(name="promote-location", cache_policy=NO_CACHE, **STORE_RETRIES)
def promote_location(
    tracked: TrackedLocation,
    digest: str,
    series: LocationSeries,
    horizon: int,
    scored: SettingsScore | None = None,
) -> Decision:
    """Under the location's promotion lock: decide, move the aliases and record the decision.

    A decision already recorded for this run is returned as it is (a repeated or resumed flow
    decides once); a version already champion without one was promoted by an attempt that
    stopped before recording it. `scored` is the score of the champion's settings seen before
    the lock; a champion with other settings that another run made meanwhile is scored here.
    Only a unit not `fresh` (finished by an earlier attempt) can have its decision recorded
    already: a run this flow run made is not looked up.
    """
    location, version = tracked.location, tracked.model_version
    with promotion_lock(location):
        recorded = None if tracked.fresh else recorded_decision(tracked.run_id)
        if recorded is not None:
            return Decision(location, version, None, *recorded)
        champion = current_champion(location)
        seen = champion.version if champion else None
        compared: dict[str, float] = {}
        if seen == version:  # an earlier attempt moved `champion` here, then could not record why
            promoted, reason = True, "promoted: made champion by an interrupted earlier attempt"
        else:
            if champion is not None and champion.tags.get(SETTINGS_DIGEST_TAG) != digest:
                if scored is None or scored.version != seen:
                    scores = score_champion_settings(
                        {location: series}, {location: champion}, horizon
                    )
                    scored = scores[location]
                compared = scored.compared()
            promoted, reason = decide(tracked.metrics, digest, champion, scored)
        record_decision(tracked, promoted, reason, compared)
    return Decision(location, version, seen, promoted, reason)


class Promotions:
    """Promotion of every tracked location, started chunk by chunk as soon as the chunk is
    tracked, so that it runs beside the tracking of the next chunk. Champions with other
    settings are scored on the same test window first, all together (see
    score_champion_settings); then each location decides under its lock (promote_location)."""

    def __init__(self, results: UnitResults, names: list[str], batch: Batch) -> None:
        self.results, self.digest, self.runner = results, batch.digest, batch.runner
        self.horizon = batch.config.horizon
        champions = {n: current_champion(n) for n in names}
        other = {
            n: c
            for n, c in champions.items()
            if c and c.tags.get(SETTINGS_DIGEST_TAG) != self.digest
        }
        self.scores = score_champion_settings(results.series, other, self.horizon) if other else {}
        self.names: list[str] = []
        self.futures: list = []

    def start(self, names: list[str]) -> None:
        """Start promoting those of the locations that were tracked with a registered version."""
        tracked, series = self.results.tracked, self.results.series
        todo = [n for n in names if n in tracked and tracked[n].model_version]
        self.futures += self.runner.map(
            promote_location,
            {
                "tracked": [tracked[n] for n in todo],
                "digest": unmapped(self.digest),
                "series": [series[n] for n in todo],
                "horizon": unmapped(self.horizon),
                "scored": [self.scores.get(n) for n in todo],
            },
        )
        self.names += todo

    def finish(self) -> None:
        """Wait for every promotion started; keep the decisions."""
        progress = Progress("promotion", len(self.names), run_logger().info)
        failures = self.results.failures
        self.results.decisions = collect(self.names, self.futures, failures, "promotion", progress)
