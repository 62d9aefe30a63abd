"""Forecasts from a fit, and the evaluation of a fit on its test window beside both baselines."""

from dataclasses import dataclass

import keras
import numpy as np
import pandas as pd

from tasks.data.locations import LocationSeries
from tasks.data.months import month_range
from tasks.data.windows import make_windows
from tasks.model.baselines import baseline_forecasts, error_metrics, skill
from tasks.model.fitting import GroupFit
from tasks.model.network import predict
from tasks.model.scores import probabilistic_scores
from tasks.model.uncertainty import Distribution


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
    distribution: Distribution | None = None

    def table(self) -> pd.DataFrame:
        """One row per test month: actual, forecast, both baselines (°C), and the forecast's
        quantiles and chance of a month warmer than its calendar median."""
        frame = pd.DataFrame(
            {
                "month": self.months,
                "actual": self.actual,
                "forecast": self.forecast,
                "baseline_climatology": self.climatology,
                "baseline_seasonal_naive": self.seasonal_naive,
            }
        )
        if self.distribution is not None:
            frame = frame.assign(**self.distribution.columns())
        return frame


def forecast_from(model: keras.Model, series: LocationSeries, origin: int) -> np.ndarray:
    """A standalone model's forecast of the months from `origin` on, from the `timestep` months
    before it (°C, one value per forecast month)."""
    timestep = int(model.inputs[0].shape[1])
    calendar = series.calendar()[origin - timestep : origin]
    return predict(model, series.values[None, origin - timestep : origin], calendar[None])[0]


def group_forecasts(fit: GroupFit, series: list[LocationSeries], origin: int) -> np.ndarray:
    """The fit's forecasts of the months from `origin` on for every location, shaped
    (locations, horizon), computed together."""
    past = origin - fit.config.timestep + np.arange(fit.config.timestep)
    windows = np.stack([s.values[past] for s in series])
    calendar = np.stack([s.calendar()[past] for s in series])
    return fit.forecast([s.location for s in series], windows, calendar)


def months_after(series: LocationSeries, origin: int, count: int) -> list[str]:
    """The `count` months from index `origin` on (they may reach past the series' end)."""
    first = pd.Period(series.months[0], freq="M") + origin
    return month_range(first, first + count - 1)


def training_maes(fit: GroupFit, series: list[LocationSeries]) -> list[float]:
    """Each location's MAE (°C) on the windows the fit trained on (in sample)."""
    timestep, horizon = fit.config.timestep, fit.config.horizon
    windows = [make_windows(s.values[: fit.trained_until], timestep, horizon) for s in series]
    names = [s.location for s, w in zip(series, windows, strict=True) for _ in range(len(w))]
    calendar = np.concatenate(
        [
            s.calendar()[w.starts[:, None] + np.arange(timestep)]
            for s, w in zip(series, windows, strict=True)
        ]
    )
    forecasts = fit.forecast(names, np.concatenate([w.x[..., 0] for w in windows]), calendar)
    errors = np.abs(forecasts - np.concatenate([w.y[..., 0] for w in windows])).mean(axis=1)
    bounds = np.cumsum([len(w) for w in windows])[:-1]
    return [float(part.mean()) for part in np.split(errors, bounds)]


def evaluate_group(fit: GroupFit, series: list[LocationSeries]) -> dict[str, Evaluation]:
    """Score an evaluation fit on its test window for every location: the `horizon` months from
    its origin, which it never saw; the baselines see only the months before the origin, as the
    model does."""
    origin, horizon = fit.origin, fit.config.horizon
    forecasts = group_forecasts(fit, series, origin)
    in_sample = training_maes(fit, series)
    evaluations = {}
    for s, forecast, train_mae in zip(series, forecasts, in_sample, strict=True):
        actual = s.values[origin : origin + horizon]
        climatology, seasonal_naive = baseline_forecasts(s.values[:origin], s.months[0], horizon)
        test = error_metrics(actual, forecast)
        climatology_mae = error_metrics(actual, climatology)["mae"]
        metrics = {
            "test_mae": test["mae"],
            "test_rmse": test["rmse"],
            "test_mse": test["mse"],
            "train_mae": train_mae,
            "baseline_climatology_mae": climatology_mae,
            "baseline_seasonal_naive_mae": error_metrics(actual, seasonal_naive)["mae"],
            "skill_vs_climatology": skill(test["mae"], climatology_mae),
        }
        predictive = fit.distribution(s, np.asarray(forecast, dtype=np.float64))
        scored = pd.DataFrame({"actual": actual, **predictive.beside(actual)})
        scored = scored[np.isfinite(actual)]
        metrics |= {f"test_{name}": value for name, value in probabilistic_scores(scored).items()}
        evaluations[s.location] = Evaluation(
            location=s.location,
            months=months_after(s, origin, horizon),
            actual=actual,
            forecast=np.asarray(forecast, dtype=np.float64),
            climatology=climatology,
            seasonal_naive=seasonal_naive,
            metrics=metrics,
            distribution=predictive,
        )
    return evaluations
