"""Baselines and error metrics: the yardsticks every forecast is reported beside.

Both baselines use only what is known at the forecast origin (the months before the first
forecast month), so they are honest competitors of a model fed the same history.
"""

import numpy as np

from tasks.data.months import calendar_months


def climatology_forecast(
    history: np.ndarray, history_months: np.ndarray, target_months: np.ndarray
) -> np.ndarray:
    """Mean of each target's calendar month over every known month of that calendar month."""
    sums = np.bincount(history_months, weights=history, minlength=12)
    counts = np.bincount(history_months, minlength=12)
    with np.errstate(invalid="ignore", divide="ignore"):
        means = sums / counts
    return means[target_months]


def seasonal_naive_forecast(history: np.ndarray, horizon: int) -> np.ndarray:
    """The same month of the last year seen: step k takes the value 12*n months before it, for
    the smallest n that reaches back into the known history."""
    steps = np.arange(horizon)
    years_back = steps // 12 + 1
    positions = len(history) + steps - 12 * years_back
    if positions.min() < 0:
        raise ValueError(f"seasonal naive needs at least 12 known months, has {len(history)}")
    return history[positions]


def error_metrics(actual: np.ndarray, forecast: np.ndarray) -> dict[str, float]:
    """MAE, RMSE and MSE in the units of the data (°C)."""
    errors = np.asarray(forecast, dtype=np.float64) - np.asarray(actual, dtype=np.float64)
    mse = float(np.mean(errors**2))
    return {"mae": float(np.mean(np.abs(errors))), "rmse": float(np.sqrt(mse)), "mse": mse}


def baseline_forecasts(
    history: np.ndarray, first_month: str, horizon: int
) -> tuple[np.ndarray, np.ndarray]:
    """Climatology and seasonal-naive forecasts of the `horizon` months after `history`.

    `first_month` is the month of history[0]; everything in `history` is known at the origin.
    """
    history_months = calendar_months(first_month, len(history))
    target_months = calendar_months(first_month, len(history) + horizon)[len(history) :]
    return (
        climatology_forecast(history, history_months, target_months),
        seasonal_naive_forecast(history, horizon),
    )


def skill(model_mae: float, baseline_mae: float) -> float:
    """1 - model MAE / baseline MAE: positive when the model beats the baseline."""
    return float(1 - model_mae / baseline_mae) if baseline_mae > 0 else float("nan")
