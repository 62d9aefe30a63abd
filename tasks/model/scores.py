"""Scores of probabilistic forecasts, as a forecaster judges them (utilsforecast computes them:
it imports in milliseconds, where scoringrules compiled its numba functions for 3 s in every
process that scored).

A table of forecast months with `actual`, the quantile columns, `p_above_median`,
`above_median` (1 when the month was warmer than its calendar month's median) and `base_rate`
(climatology's chance of that) gives: the coverage of the 50%, 80%, 90% and 95% central
intervals, the quantile score (twice the mean pinball loss over SCORED_LEVELS, a CRPS
approximation), the interval (Winkler) score of the 80% interval, and the Brier score of
`p_above_median` beside climatology's.
"""

import numpy as np
import pandas as pd

from tasks.model.uncertainty import LEVELS, QUANTILE_COLUMNS, SCORED_LEVELS

INTERVALS = {50: ("q25", "q75"), 80: ("q10", "q90"), 90: ("q05", "q95"), 95: ("q025", "q975")}
SCORED_COLUMNS = [
    c for c, level in zip(QUANTILE_COLUMNS, LEVELS, strict=True) if level in SCORED_LEVELS
]
PROBABILISTIC_COLUMNS = [*QUANTILE_COLUMNS, "p_above_median", "above_median", "base_rate"]


def coverage(actual: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> float:
    """The share of actual values inside [lower, upper]."""
    return float(np.mean((actual >= lower) & (actual <= upper)))


def each_month(actual: np.ndarray, **forecasts: np.ndarray) -> pd.DataFrame:
    """A frame for utilsforecast's scores, one series per forecast month (its scores are means
    per series: here, each month's own score)."""
    return pd.DataFrame({"unique_id": np.arange(len(actual)), "y": actual, **forecasts})


def per_month(scores: pd.DataFrame) -> np.ndarray:
    """The column `forecast` of utilsforecast's scores of `each_month`, in the months' order."""
    return scores.sort_values("unique_id")["forecast"].to_numpy(float)


def quantile_scores(actual: np.ndarray, quantiles: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """Per forecast month: twice the mean pinball loss of the quantiles (months, levels)."""
    from utilsforecast.losses import mqloss

    names = [f"q{i}" for i in range(quantiles.shape[1])]
    frame = each_month(actual, **dict(zip(names, quantiles.T, strict=True)))
    return 2 * per_month(mqloss(frame, {"forecast": names}, np.asarray(levels, float)))


def interval_scores(
    actual: np.ndarray, lower: np.ndarray, upper: np.ndarray, alpha: float
) -> np.ndarray:
    """Per forecast month: the interval (Winkler) score of a central (1 - alpha) interval, for a
    whole percentage (utilsforecast names intervals by an integer level)."""
    from utilsforecast.losses import winkler_score

    level = round(100 * (1 - alpha))
    if not np.isclose(level, 100 * (1 - alpha)):
        raise ValueError(f"interval score: a {100 * (1 - alpha):g}% interval is not a whole level")
    bounds = {f"forecast-lo-{level}": lower, f"forecast-hi-{level}": upper}
    return per_month(winkler_score(each_month(actual, **bounds), ["forecast"], level))


def brier_scores(probability: np.ndarray, outcome: np.ndarray) -> np.ndarray:
    """Per forecast month: the Brier score of the chance of an event that did (1) or did not."""
    from utilsforecast.losses import mse

    return per_month(mse(each_month(outcome.astype(float), forecast=probability), ["forecast"]))


def probabilistic_scores(frame: pd.DataFrame) -> dict[str, float]:
    """The scores of a table of observed forecast months (see the module's docstring); empty
    when the table has none or lacks the quantile columns."""
    if frame.empty or not set(PROBABILISTIC_COLUMNS) <= set(frame.columns):
        return {}
    actual = frame["actual"].to_numpy(float)
    column = {name: frame[name].to_numpy(float) for name in PROBABILISTIC_COLUMNS}
    scores = {
        f"coverage_{level}": coverage(actual, column[low], column[high])
        for level, (low, high) in INTERVALS.items()
    }
    quantiles = frame[SCORED_COLUMNS].to_numpy(float)
    scores["quantile_score"] = float(quantile_scores(actual, quantiles, SCORED_LEVELS).mean())
    scores["interval_score_80"] = float(
        interval_scores(actual, column["q10"], column["q90"], 0.2).mean()
    )
    outcome = column["above_median"]
    scores["brier"] = float(brier_scores(column["p_above_median"], outcome).mean())
    scores["brier_climatology"] = float(brier_scores(column["base_rate"], outcome).mean())
    return scores
