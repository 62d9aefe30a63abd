"""Evaluation: a location's test forecast beside both baselines, on exactly the same months."""

from dataclasses import dataclass

import numpy as np
import pandas as pd
from prefect import task
from prefect.cache_policies import NO_CACHE

from tasks.baselines import (
    calendar_months,
    climatology_forecast,
    error_metrics,
    seasonal_naive_forecast,
)
from tasks.datasets import LocationData
from tasks.model import predict
from tasks.training import TrainedModel


@dataclass(frozen=True)
class Evaluation:
    """Test months, actual values, the model's and the baselines' forecasts, and the metrics."""

    location: str
    months: list[str]
    actual: np.ndarray
    forecast: np.ndarray
    climatology: np.ndarray
    seasonal_naive: np.ndarray
    metrics: dict[str, float]

    def table(self) -> pd.DataFrame:
        """One row per test month: actual, forecast and both baselines (°C)."""
        return pd.DataFrame(
            {
                "month": self.months,
                "actual": self.actual,
                "forecast": self.forecast,
                "baseline_climatology": self.climatology,
                "baseline_seasonal_naive": self.seasonal_naive,
            }
        )


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


def evaluate_location(
    data: LocationData, forecast: np.ndarray, train_forecast: np.ndarray
) -> Evaluation:
    """Score the test forecast and the training fit; the baselines see only the history before
    the forecast origin (training months plus the test window's input months)."""
    origin, horizon = data.forecast_origin, len(forecast)
    actual = data.series[origin : origin + horizon]
    climatology, seasonal_naive = baseline_forecasts(data.series[:origin], data.months[0], horizon)
    test = error_metrics(actual, forecast)
    climatology_mae = error_metrics(actual, climatology)["mae"]
    metrics = {
        "test_mae": test["mae"],
        "test_rmse": test["rmse"],
        "test_mse": test["mse"],
        "train_mae": error_metrics(data.split.train.y[..., 0], train_forecast)["mae"],
        "baseline_climatology_mae": climatology_mae,
        "baseline_seasonal_naive_mae": error_metrics(actual, seasonal_naive)["mae"],
        "skill_vs_climatology": skill(test["mae"], climatology_mae),
    }
    return Evaluation(
        location=data.location,
        months=data.test_months,
        actual=actual,
        forecast=np.asarray(forecast, dtype=np.float64),
        climatology=climatology,
        seasonal_naive=seasonal_naive,
        metrics=metrics,
    )


@task(name="evaluate", cache_policy=NO_CACHE)
def evaluate(data: LocationData, trained: TrainedModel) -> Evaluation:
    """Prefect task: forecast the test window and the training windows, and score them."""
    train, test = data.split.train.x, data.split.test.x
    forecasts = predict(trained.model, np.concatenate([train, test[-1:]]))  # one call: it is eager
    return evaluate_location(data, forecasts[-1], forecasts[:-1])
