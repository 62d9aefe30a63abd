"""Backtests: forecasts made "as of" a past month, scored against what really happened next.

`truth` is the table of raw monthly means (no imputation) up to the last complete month of the
whole file (tasks.data.monthly.truth_table), so a forecast is only scored on months that were
observed.
"""

import numpy as np
import pandas as pd

from tasks.data.locations import LocationSeries
from tasks.data.months import month_range, parse_month
from tasks.model.baselines import baseline_forecasts
from tasks.model.scores import probabilistic_scores
from tasks.model.uncertainty import QUANTILE_COLUMNS, Distribution, warmer_than

BACKTEST_COLUMNS = [
    "as_of",
    "location",
    "month",
    "step",
    "actual",
    "forecast",
    "baseline_climatology",
    "baseline_seasonal_naive",
    "abs_error",
    *QUANTILE_COLUMNS,
    "p_above_median",
    "median",
    "above_median",
    "base_rate",
]
ERRORS = {
    "mae": "abs_error",
    "baseline_climatology_mae": "climatology_error",
    "baseline_seasonal_naive_mae": "seasonal_naive_error",
}


def backtest_rows(
    series: LocationSeries,
    as_of: str,
    forecast: np.ndarray,
    truth: pd.DataFrame,
    predictive: Distribution,
) -> pd.DataFrame:
    """One row per forecast month after the series' last month: the actual value where
    observed, the forecast, both baselines from the same history, the absolute error, the
    forecast's quantiles and chance of a month warmer than its calendar `median`, whether it
    was (`above_median`, NaN where not observed) and climatology's chance of that.

    `series` holds everything known at as_of: all the forecast and the baselines may see.
    """
    last = parse_month(series.months[-1])
    months = month_range(last + 1, last + len(forecast))
    climatology, seasonal_naive = baseline_forecasts(series.values, series.months[0], len(forecast))
    observed = (
        truth.loc[series.location] if series.location in truth.index else pd.Series(dtype=float)
    )
    actual = observed.reindex(months).to_numpy(dtype=float)
    return pd.DataFrame(
        {
            "as_of": as_of,
            "location": series.location,
            "month": months,
            "step": np.arange(1, len(forecast) + 1),
            "actual": actual,
            "forecast": forecast,
            "baseline_climatology": climatology,
            "baseline_seasonal_naive": seasonal_naive,
            "abs_error": np.abs(forecast - actual),
            **predictive.beside(actual),
        },
        columns=BACKTEST_COLUMNS,
    )


def rescored(rows: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    """Backtest rows written earlier (a reused unit's) scored against `truth` as it is now: a
    correction of the observations since then changes their actual values, absolute errors and
    whether the month was warmer than its median; the forecasts stay as they were."""
    observed = truth.stack()  # (location, month) -> value
    cells = pd.MultiIndex.from_arrays([rows["location"], rows["month"].astype(str)])
    actual = observed.reindex(cells).to_numpy(dtype=float)
    return rows.assign(
        actual=actual,
        abs_error=np.abs(rows["forecast"].to_numpy() - actual),
        above_median=warmer_than(actual, rows["median"].to_numpy(dtype=float)),
    )


def summarise(rows: pd.DataFrame, by: str) -> pd.DataFrame:
    """MAE of the model and of both baselines by `by` (step or location), on observed months."""
    scored = rows.dropna(subset=["actual"]).assign(
        climatology_error=lambda f: (f["baseline_climatology"] - f["actual"]).abs(),
        seasonal_naive_error=lambda f: (f["baseline_seasonal_naive"] - f["actual"]).abs(),
    )
    grouped = scored.groupby(by, sort=True)
    summary = pd.DataFrame({name: grouped[column].mean() for name, column in ERRORS.items()})
    summary["months_scored"] = grouped.size()
    summary["skill_vs_climatology"] = 1 - summary["mae"] / summary["baseline_climatology_mae"]
    probabilistic = grouped.apply(lambda part: pd.Series(probabilistic_scores(part)))
    return summary.join(probabilistic).reset_index()


def overall(rows: pd.DataFrame) -> dict[str, float]:
    """Mean absolute errors over every observed row of the backtest."""
    scored = rows.dropna(subset=["actual"])
    if scored.empty:
        return {}
    climatology = float((scored["baseline_climatology"] - scored["actual"]).abs().mean())
    mae = float(scored["abs_error"].mean())
    return {
        "backtest_mae": mae,
        "backtest_climatology_mae": climatology,
        "backtest_seasonal_naive_mae": float(
            (scored["baseline_seasonal_naive"] - scored["actual"]).abs().mean()
        ),
        "backtest_skill_vs_climatology": 1 - mae / climatology if climatology else float("nan"),
        "backtest_months_scored": float(len(scored)),
        **{f"backtest_{name}": value for name, value in probabilistic_scores(scored).items()},
    }
