"""Scores of probabilistic forecasts, as a forecaster judges them (scoringrules computes them).

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


def quantile_scores(actual: np.ndarray, quantiles: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """Per forecast month: twice the mean pinball loss of the quantiles (months, levels)."""
    import scoringrules

    return np.asarray(scoringrules.crps_quantile(actual, quantiles, np.asarray(levels)))


def interval_scores(
    actual: np.ndarray, lower: np.ndarray, upper: np.ndarray, alpha: float
) -> np.ndarray:
    """Per forecast month: the interval (Winkler) score of a central (1 - alpha) interval."""
    import scoringrules

    return np.asarray(scoringrules.interval_score(actual, lower, upper, alpha))


def brier_scores(probability: np.ndarray, outcome: np.ndarray) -> np.ndarray:
    """Per forecast month: the Brier score of the chance of an event that did (1) or did not."""
    import scoringrules

    return np.asarray(scoringrules.brier_score(outcome.astype(float), probability))


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
