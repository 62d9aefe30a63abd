"""Live accuracy: the forecasts a retrain published, scored once their months are observed.

Each retrain, before it trains, stores the actual value of every earlier forecast whose month
is now observed, then judges the live track record over a trailing window of target months (the
last 12 up to as_of): the MAE of the published forecasts beside the MAE of what climatology
known at each forecast's as_of said, per location and lead, and per location for its champion
(the version of its latest forecast published before). A champion worse than climatology is
named.

Forecasts stored with their distribution are also judged as a forecaster is: the coverage of
their 50%, 80% and 90% central intervals, their quantile score (tasks.model.scores: twice the
mean pinball loss over the published levels) and the Brier score of `p_above_median` beside
climatology's (the stored base rate). A champion whose 80% intervals held fewer than
COVERAGE_FLOOR of its window's observed months is named, as a champion worse than climatology
is.
"""

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from prefect import task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE

from schemas.forecasts import QUANTILE_COLUMNS
from tasks.data.months import describe_months, month_range
from tasks.logs import run_logger
from tasks.model.scores import INTERVALS, SCORED_COLUMNS, brier_scores, quantile_scores
from tasks.model.uncertainty import SCORED_LEVELS
from tasks.places import FILES
from tasks.publish.charts import live_mae_html, live_mae_png, write_html, write_png
from tasks.publish.history import score_forecasts
from tasks.publish.outputs import ensure_folder, write_csv
from tasks.tracking.runs import attach_files, log_run_results
from tasks.tracking.store import STORE_RETRIES

WINDOW_MONTHS = 12
WORSE_TAG = "tempcast.live_worse_than_climatology"
COVERAGE_TAG = "tempcast.live_coverage_below_65"
COVERAGE_FLOOR = 0.65
COVERAGE_LEVELS = (50, 80, 90)
SUMMARY_COLUMNS = ["forecasts", "live_mae", "live_climatology_mae", "live_skill"]
# Per scored forecast with a distribution (NaN for one without): whether each central interval
# held the actual value, its quantile score, and the Brier scores of p_above_median and of
# climatology's base rate. Their means per group are the live probabilistic scores.
ROW_SCORES = {
    **{f"inside_{level}": f"live_coverage_{level}" for level in COVERAGE_LEVELS},
    "quantile_score": "live_quantile_score",
    "brier": "live_brier",
    "climatology_brier": "live_climatology_brier",
}


def complete(rows: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """Which rows have an actual value and every one of the columns."""
    return rows[[*columns, "actual"]].notna().all(axis=1).to_numpy()


def row_scores(rows: pd.DataFrame) -> pd.DataFrame:
    """The ROW_SCORES of each scored forecast (`actual` and the distribution columns of the
    history): NaN where the forecast was stored without quantiles (or without p_above_median
    and its median, for the Brier scores)."""
    actual = rows["actual"].to_numpy(float)
    with_quantiles = complete(rows, QUANTILE_COLUMNS)
    scores = pd.DataFrame(np.nan, index=rows.index, columns=list(ROW_SCORES))
    for level in COVERAGE_LEVELS:
        low, high = (rows[name].to_numpy(float) for name in INTERVALS[level])
        inside = ((actual >= low) & (actual <= high)).astype(float)
        scores[f"inside_{level}"] = np.where(with_quantiles, inside, np.nan)
    if with_quantiles.any():
        chosen = rows.loc[with_quantiles, SCORED_COLUMNS].to_numpy(float)
        scores.loc[with_quantiles, "quantile_score"] = quantile_scores(
            actual[with_quantiles], chosen, np.asarray(SCORED_LEVELS)
        )
    return scores.assign(**chance_scores(rows))


def chance_scores(rows: pd.DataFrame) -> dict[str, np.ndarray]:
    """The Brier scores of each scored forecast's `p_above_median` and of climatology's
    `base_rate`, against whether the month came warmer than its stored `median` (NaN where
    any of them is missing)."""
    chance = complete(rows, ["p_above_median", "median", "base_rate"])
    above = (rows["actual"] > rows["median"]).to_numpy(float)[chance]
    scores = {}
    for column, probability in (("brier", "p_above_median"), ("climatology_brier", "base_rate")):
        scores[column] = np.full(len(rows), np.nan)
        if chance.any():
            given = rows[probability].to_numpy(float)[chance]
            scores[column][chance] = brier_scores(given, above)
    return scores


def summarise(rows: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Per group: how many scored forecasts, their MAE, climatology's MAE on the same months,
    the skill (1 - MAE / climatology's MAE: positive when the forecasts beat it), and, over
    those stored with quantiles (how many: `forecasts_with_quantiles`), the live coverage of
    the 50/80/90% intervals, quantile score and Brier scores (NaN where none had them)."""
    scored = pd.concat([rows, row_scores(rows)], axis=1)
    grouped = scored.groupby(by, sort=True)
    summary = pd.DataFrame(
        {
            "forecasts": grouped.size(),
            "live_mae": grouped["abs_error"].mean(),
            "live_climatology_mae": grouped["climatology_abs_error"].mean(),
        }
    )
    summary["live_skill"] = 1 - summary["live_mae"] / summary["live_climatology_mae"]
    summary["forecasts_with_quantiles"] = grouped["quantile_score"].count()
    for column, name in ROW_SCORES.items():
        summary[name] = grouped[column].mean()
    return summary.reset_index()


def window_of(as_of: str, months: int = WINDOW_MONTHS) -> list[str]:
    """The trailing window: the last `months` target months up to as_of."""
    last = pd.Period(as_of, freq="M")
    return month_range(last - (months - 1), last)


@dataclass(frozen=True)
class LiveAccuracy:
    """One retrain's view of the live track record: the window of target months, how many
    forecasts this as_of scored (by their own as_of), every scored forecast with its errors up
    to as_of, and each location's champion (name, version) of the latest forecast published
    before this as_of (so that repeating a retrain judges the same champion)."""

    as_of: str
    window: list[str]
    scored_now: dict[str, int]
    scored: pd.DataFrame
    champions: pd.DataFrame

    @property
    def recent(self) -> pd.DataFrame:
        """The scored forecasts whose target month is in the window."""
        return self.scored[self.scored["month"].isin(self.window)]

    def by_location_lead(self) -> pd.DataFrame:
        """The window's summary per location and lead (months ahead)."""
        return summarise(self.recent, ["location", "lead"])

    def champion_records(self) -> pd.DataFrame:
        """Per location, its champion's record over the window, whether it was worse than
        climatology, and whether its 80% intervals held fewer than COVERAGE_FLOOR of the
        months (`low_coverage`; False without quantiles)."""
        rows = self.recent.merge(self.champions, on=["location", "model_name", "model_version"])
        summary = summarise(rows, ["location", "model_name", "model_version"])
        return summary.assign(
            worse=summary["live_mae"] > summary["live_climatology_mae"],
            low_coverage=summary["live_coverage_80"] < COVERAGE_FLOOR,
        )

    def worse(self) -> list[str]:
        """Each champion worse than climatology over the window, named with its scores."""
        records = self.champion_records()
        return [
            f"{r.location} ({r.model_name} version {r.model_version}: {r.live_mae:.3f} vs"
            f" {r.live_climatology_mae:.3f} °C over {r.forecasts} forecasts)"
            for r in records[records["worse"]].itertuples()
        ]

    def low_coverage(self) -> list[str]:
        """Each champion whose live 80% coverage over the window was below COVERAGE_FLOOR,
        named with it."""
        records = self.champion_records()
        return [
            f"{r.location} ({r.model_name} version {r.model_version}: 80% intervals held"
            f" {r.live_coverage_80:.0%} of {r.forecasts_with_quantiles} months)"
            for r in records[records["low_coverage"]].itertuples()
        ]

    def metrics(self) -> dict[str, float]:
        """The window's live MAE, climatology's MAE and skill, the counts of forecasts in the
        window and scored by this as_of, and, where some had quantiles, their count, live
        coverages, quantile score and Brier scores (none when nothing in the window is
        scored)."""
        recent = self.recent
        if recent.empty:
            return {}
        overall = summarise(recent.assign(all=0), ["all"]).iloc[0]
        counts = {
            "live_forecasts_in_window": float(len(recent)),
            "live_forecasts_scored": float(sum(self.scored_now.values())),
        }
        if overall["forecasts_with_quantiles"]:
            counts["live_forecasts_with_quantiles"] = float(overall["forecasts_with_quantiles"])
        scores = [*SUMMARY_COLUMNS[1:], *ROW_SCORES.values()]
        known = {name: float(overall[name]) for name in scores if not pd.isna(overall[name])}
        return {**known, **counts}

    def worse_line(self) -> str:
        """The champions worse than climatology over the window, in one line ('' if none)."""
        worse = self.worse()
        count = f"{len(worse)} champion(s) worse than climatology over the window: "
        return count + "; ".join(worse) if worse else ""

    def coverage_line(self) -> str:
        """The champions whose 80% intervals covered too little, in one line ('' if none)."""
        low = self.low_coverage()
        count = (
            f"{len(low)} champion(s) with live 80% coverage below {COVERAGE_FLOOR:.0%}"
            " over the window: "
        )
        return count + "; ".join(low) if low else ""

    def warnings(self) -> list[str]:
        """The lines that warn: champions worse than climatology, champions whose intervals
        covered too little."""
        return [line for line in (self.worse_line(), self.coverage_line()) if line]

    def lines(self) -> list[str]:
        """What a person reads about it: what was scored now, the window's record, and the
        champions worse than climatology."""
        counts = ", ".join(f"as_of {k}: {v:,}" for k, v in sorted(self.scored_now.items()))
        scored = f"{sum(self.scored_now.values()):,} forecasts scored as of {self.as_of}"
        lines = [f"live accuracy: {scored}" + (f" ({counts})" if counts else "")]
        metrics = self.metrics()
        if metrics:
            lines.append(
                f"live accuracy over target months {describe_months(self.window)}:"
                f" {len(self.recent):,} forecasts, MAE {metrics['live_mae']:.3f} °C, climatology"
                f" {metrics['live_climatology_mae']:.3f} °C, skill {metrics['live_skill']:+.1%}"
            )
        if "live_coverage_80" in metrics:
            coverages = ", ".join(
                f"{level}% {metrics[f'live_coverage_{level}']:.0%}" for level in COVERAGE_LEVELS
            )
            lines.append(
                f"live intervals over the window: {int(metrics['live_forecasts_with_quantiles']):,}"
                f" forecasts with quantiles, coverage {coverages}, quantile score"
                f" {metrics['live_quantile_score']:.3f} °C"
            )
        return [*lines, *self.warnings()]

    def report(self) -> dict[str, Any]:
        """The summary for report.json."""
        return {
            "window": describe_months(self.window),
            "scored_now": self.scored_now,
            **self.metrics(),
            "worse_than_climatology": self.worse(),
            "coverage_80_below_65": self.low_coverage(),
        }


@task(name="score-live-forecasts", cache_policy=NO_CACHE, retries=2, retry_delay_seconds=5)
def score_live_forecasts(uri: str, truth: pd.DataFrame, as_of: str) -> LiveAccuracy:
    """Store the actual value of every published forecast whose month is observed up to as_of
    (`truth`: raw monthly means) and not scored yet, in one transaction; then read the live
    track record back. Repeating it for the same as_of scores nothing twice."""
    history = score_forecasts(uri, truth, as_of, datetime.now(UTC))
    live = LiveAccuracy(
        as_of=as_of,
        window=window_of(as_of),
        scored_now=history.scored_now,
        scored=history.scored,
        champions=history.champions,
    )
    log = run_logger()
    warnings = live.warnings()
    for line in live.lines():
        (log.warning if line in warnings else log.info)(line)
    return live


@task(name="publish-live-accuracy", cache_policy=NO_CACHE, **STORE_RETRIES)
def publish_live_accuracy(live: LiveAccuracy, out: Path, parent_run_id: str) -> dict[str, Path]:
    """Write the window's summary per location and lead, the champions' records and the chart
    (MAE by lead and over time), show the summary as a Prefect table artifact, and log the
    metrics, the champions worse than climatology or with too little coverage and the files on
    the parent run."""
    if live.recent.empty:
        return {}
    ensure_folder(out)
    summary = live.by_location_lead()
    title = f"Live MAE of the published forecasts (as of {live.as_of})"
    by_lead = summarise(live.recent, ["lead"])
    by_month = summarise(live.scored, ["month"])
    files = {
        "csv": write_csv(summary, out / FILES.live_accuracy),
        "champions": write_csv(live.champion_records(), out / FILES.live_champions),
        "html": write_html(live_mae_html(by_lead, by_month, title), out / FILES.live_accuracy_html),
        "png": write_png(live_mae_png(by_lead, by_month, title), out / FILES.live_accuracy_png),
    }
    create_table_artifact(
        key="live-accuracy",
        table=summary.round(4).to_dict(orient="records"),
        description="; ".join(live.lines()),
    )
    tags = {
        WORSE_TAG: "; ".join(live.worse()) or "none",
        COVERAGE_TAG: "; ".join(live.low_coverage()) or "none",
        "mlflow.note.content": "\n\n".join(live.lines()),  # the run's description in the UI
    }
    log_run_results(parent_run_id, live.metrics(), tags)
    attach_files(parent_run_id, list(files.values()), "live_accuracy")
    return files
