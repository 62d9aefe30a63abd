"""How good the forecasts are, on tiny synthetic data with a learnable signal (a seasonal cycle
plus anomalies that persist): the default recipe, fit on what was known at an origin, forecasts
every later origin better than climatology and seasonal naive by a margin that a broken model
(months shifted, networks untrained, the climatology it falls back to) does not reach."""

import numpy as np

from tasks.data.locations import LocationSeries
from tasks.model.fitting import fit_locations
from tasks.model.settings import TrainingOverrides, training_config
from tests.support.synthetic import persistent_anomalies
from tests.support.tiny import quiet

TIMESTEP = HORIZON = 6
HELD_OUT = 24  # months after the fit's origin: 19 origins per location
QUICK = TrainingOverrides(
    timestep=TIMESTEP, horizon=HORIZON, units=4, batch_size=32, epochs=5, learning_rate=0.01
)


def rolling_windows(series: list[LocationSeries], origins: np.ndarray) -> dict[str, np.ndarray]:
    """For every location and origin (in that order): the input window (`TIMESTEP` months before
    the origin), its calendar months (0-11), the `HORIZON` months observed from the origin, and
    the two baselines from the months known at the origin, written here independently:
    climatology (each calendar month's mean) and seasonal naive (the month a year before)."""
    parts: dict[str, list[np.ndarray]] = {"x": [], "calendar": [], "actual": []}
    parts |= {"climatology": [], "seasonal_naive": []}
    for s in series:
        calendar = np.arange(len(s)) % 12  # every series starts in January
        for origin in origins:
            known, ahead = s.values[:origin], np.arange(origin, origin + HORIZON)
            parts["x"].append(s.values[origin - TIMESTEP : origin])
            parts["calendar"].append(calendar[origin - TIMESTEP : origin])
            parts["actual"].append(s.values[ahead])
            means = [known[calendar[:origin] == month].mean() for month in calendar[ahead]]
            parts["climatology"].append(np.array(means))
            parts["seasonal_naive"].append(s.values[ahead - 12])
    return {name: np.stack(values) for name, values in parts.items()}


def test_the_default_recipe_beats_both_baselines_by_a_margin_on_many_origins():
    series = persistent_anomalies(locations=6, months=96)
    config = training_config("default", QUICK)
    fitted = fit_locations(series, config, HELD_OUT, quiet)  # knows the first 72 months
    assert not fitted.failures, fitted.failures
    fit = fitted.fits[series[0].location]
    origins = np.arange(fit.origin, len(series[0]) - HORIZON + 1)
    windows = rolling_windows(series, origins)
    names = [s.location for s in series for _ in origins]
    forecast = fit.forecast(names, windows["x"], windows["calendar"])

    def mae(predicted: np.ndarray, steps: int = HORIZON) -> float:
        return float(np.abs(predicted - windows["actual"])[:, :steps].mean())

    model, climatology = mae(forecast), mae(windows["climatology"])
    seasonal_naive = mae(windows["seasonal_naive"])
    first = {name: mae(windows[name], 3) for name in ("climatology", "seasonal_naive")}
    scores = f"model {model:.3f}, climatology {climatology:.3f}, naive {seasonal_naive:.3f}"
    assert model < 0.95 * climatology and model < 0.8 * seasonal_naive, scores
    # where the anomalies persist, the first three months, the margin is larger
    assert mae(forecast, 3) < 0.9 * min(first.values()), (mae(forecast, 3), first)
