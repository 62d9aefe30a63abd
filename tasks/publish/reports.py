"""Reporting: the per-location metrics table as a CSV file, a Prefect artifact and a summary."""

from pathlib import Path
from typing import Any

import pandas as pd
from prefect import task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE

from tasks.data.asof import AsOf
from tasks.places import FILES
from tasks.publish.outputs import write_csv
from tasks.tracking.runs import TrackedLocation

METRIC_COLUMNS = [
    "location",
    "test_mae",
    "test_rmse",
    "baseline_climatology_mae",
    "baseline_seasonal_naive_mae",
    "skill_vs_climatology",
    "test_quantile_score",
    "test_coverage_80",
    "train_seconds",
    "run_id",
    "model_version",
]
MEANS = [
    "test_mae",
    "baseline_climatology_mae",
    "baseline_seasonal_naive_mae",
    "test_quantile_score",
    "test_coverage_80",
]


def metrics_table(tracked: list[TrackedLocation]) -> pd.DataFrame:
    """One row per location with its scores, child run and model version."""
    rows = [
        {
            **item.metrics,
            "location": item.location,
            "run_id": item.run_id,
            "model_version": item.model_version,
        }
        for item in tracked
    ]
    return pd.DataFrame(rows, columns=METRIC_COLUMNS)


def summary_metrics(table: pd.DataFrame) -> dict[str, float]:
    """Means over locations of the model's and the baselines' test MAE, and the mean skill."""
    if table.empty:
        return {}
    means = {f"mean_{name}": float(table[name].mean()) for name in MEANS}
    means["mean_skill_vs_climatology"] = float(table["skill_vs_climatology"].mean())
    return means


def format_table(table: pd.DataFrame) -> str:
    """The metrics table as aligned text, with the mean over locations as a last line."""
    shown = table.drop(columns=["run_id"]).round(3)
    text = shown.to_string(index=False)
    means = summary_metrics(table)
    if means:
        text += (
            f"\nmean over {len(table)} locations: test MAE {means['mean_test_mae']:.3f} °C,"
            f" climatology {means['mean_baseline_climatology_mae']:.3f} °C,"
            f" seasonal naive {means['mean_baseline_seasonal_naive_mae']:.3f} °C;"
            f" quantile score {means['mean_test_quantile_score']:.3f} °C,"
            f" 80% interval coverage {means['mean_test_coverage_80']:.0%}"
        )
    return text


@task(name="publish-metrics", cache_policy=NO_CACHE)
def publish_metrics(table: pd.DataFrame, out: Path, key: str, description: str) -> Path:
    """Write the metrics table (FILES.metrics) into `out` and publish the same table as a
    Prefect table artifact."""
    path = write_csv(table, out / FILES.metrics)
    create_table_artifact(
        key=key,
        table=table.round(4).astype(object).where(table.notna(), None).to_dict(orient="records"),
        description=description,
    )
    return path


def format_summary(summary: pd.DataFrame) -> str:
    """A backtest summary (MAE by step or by location) as aligned text."""
    return summary.round(3).to_string(index=False)


def with_decisions(
    table: pd.DataFrame, decisions: dict[str, Any], forecasts: pd.DataFrame
) -> pd.DataFrame:
    """Add each location's promotion outcome and its champion version to its metrics row."""
    champions = forecasts.groupby("location")["model_version"].first().astype(str)
    return table.assign(
        promoted=[decisions[n].promoted if n in decisions else None for n in table["location"]],
        champion_version=[champions.get(n) for n in table["location"]],
    )


def retrain_report(
    report: dict[str, Any],
    as_of: AsOf,
    decisions: dict[str, Any],
    live: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The data report, plus how as_of was chosen, staleness, the promotion decisions and the
    live accuracy of the forecasts published before."""
    return {
        **report,
        "as_of": as_of.label,
        "as_of_source": as_of.source,
        "stale": as_of.stale,
        "stale_note": as_of.note,
        "decisions": {name: decision.reason for name, decision in decisions.items()},
        "live_accuracy": live,
    }
