"""Forecasts: each location's champion applied to its latest months, with each month's
predictive distribution (quantiles and the chance of a warmer-than-median month), published as
files."""

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd
from prefect import task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE

from tasks.data.locations import LocationSeries
from tasks.data.months import calendar_of
from tasks.logs import run_logger
from tasks.model.baselines import climatology_forecast
from tasks.model.evaluation import forecast_from, months_after
from tasks.model.uncertainty import QUANTILE_COLUMNS, Distribution, location_spread
from tasks.places import FILES
from tasks.publish.charts import forecasts_chart_html, forecasts_chart_png, write_html, write_png
from tasks.publish.history import append_forecasts, shown
from tasks.publish.outputs import ensure_folder, write_csv
from tasks.tracking.models import load_registered
from tasks.tracking.registry import current_champion, version_run_id
from tasks.tracking.runs import attach_files
from tasks.tracking.store import STORE_RETRIES, model_name

DISTRIBUTION_COLUMNS = [*QUANTILE_COLUMNS, "p_above_median"]
FORECAST_COLUMNS = [
    "location",
    "month",
    "forecast",
    *DISTRIBUTION_COLUMNS,
    "as_of",
    "model_version",
]


def forecast_frame(
    series: LocationSeries,
    values: np.ndarray,
    as_of: str,
    version: str,
    distribution: Distribution | Mapping[str, np.ndarray] | None = None,
) -> pd.DataFrame:
    """A forecast of the months after the series' last month, as rows, with its distribution
    (a Distribution or its columns; NaN without one: a model logged before distributions)."""
    columns = distribution.columns() if isinstance(distribution, Distribution) else distribution
    missing = np.full(len(values), np.nan)
    return pd.DataFrame(
        {
            "location": series.location,
            "month": months_after(series, len(series), len(values)),
            "forecast": np.asarray(values, dtype=float),
            **{name: (columns or {}).get(name, missing) for name in DISTRIBUTION_COLUMNS},
            "as_of": as_of,
            "model_version": version,
        },
        columns=FORECAST_COLUMNS,
    )


def registered_forecast(
    series: LocationSeries, version: str
) -> tuple[np.ndarray, Distribution | None]:
    """A registered version's forecast of the months after the series' last month and their
    distribution from the constants it was logged with: the numbers its pyfunc gives (None
    for a version logged before distributions)."""
    registered = load_registered(series.location, version)
    origin = len(series)
    forecast = forecast_from(registered.model, series, origin)
    calendar = series.calendar(origin + len(forecast))[origin:]
    return forecast, registered.distribution(forecast, calendar)


@task(name="forecast-location", cache_policy=NO_CACHE, **STORE_RETRIES)
def forecast_location(
    series: LocationSeries,
    fitted: np.ndarray | None,
    version: str,
    as_of: str,
    distribution: Distribution | None = None,
) -> pd.DataFrame:
    """The forecast of the location's current champion, if it has one, with its distribution:
    `fitted` and its `distribution` when the champion is the version just trained, else its
    registered model's."""
    champion = current_champion(series.location)
    if champion is None:
        return pd.DataFrame(columns=FORECAST_COLUMNS)
    if fitted is not None and champion.version == version:
        return forecast_frame(series, fitted, as_of, version, distribution)
    forecast, registered = registered_forecast(series, champion.version)
    return forecast_frame(series, forecast, as_of, champion.version, registered)


@task(name="publish-forecasts", cache_policy=NO_CACHE)
def publish_forecasts(
    forecasts: pd.DataFrame, history: pd.DataFrame, out: Path, parent_run_id: str
) -> dict[str, Path]:
    """Write the forecasts (FILES.forecasts) and the chart (HTML and PNG), show the table as a
    Prefect artifact, and attach all three to the parent MLflow run."""
    ensure_folder(out)
    title = f"Monthly mean temperature: history and forecast (as of {forecasts['as_of'].max()})"
    files = {
        "csv": write_csv(forecasts, out / FILES.forecasts),
        "html": write_html(
            forecasts_chart_html(history, forecasts, title), out / FILES.forecasts_html
        ),
        "png": write_png(forecasts_chart_png(history, forecasts, title), out / FILES.forecasts_png),
    }
    create_table_artifact(
        key="forecasts",
        table=forecasts.round(3).to_dict(orient="records"),
        description=f"tempcast forecasts, {len(forecasts['location'].unique())} locations",
    )
    attach_files(parent_run_id, list(files.values()), "forecasts")
    return files


def distribution_of(rows: pd.DataFrame, known: pd.Series) -> dict[str, object]:
    """The distribution columns of one location's forecast rows for the history: the quantiles
    and `p_above_median` as published (NaN where the frame has none: a model without a
    distribution), the median of each target's calendar month over the `known` months (what
    `p_above_median` refers to) and the share of known months warmer than theirs (climatology's
    chance), as the model's uncertainty defines them."""
    series = LocationSeries(str(known.name), known.to_numpy(float), [str(m) for m in known.index])
    spread = location_spread(series, harmonics=1)  # the harmonics set only the spread: unused
    published = rows.reindex(columns=[*QUANTILE_COLUMNS, "p_above_median"]).astype(float)
    return {
        **{name: published[name].to_numpy() for name in published.columns},
        "median": spread.medians[calendar_of(rows["month"])],
        "base_rate": spread.base_rate,
    }


def history_rows(
    forecasts: pd.DataFrame,
    history: pd.DataFrame,
    run_ids: dict[tuple[str, str], str],
    published_at: pd.Timestamp,
) -> pd.DataFrame:
    """The forecasts as rows of the forecast history: each with its lead (months after the last
    month its model saw), what climatology says for its month (the mean of that calendar month
    over the months of `history`, the table known at as_of), its distribution (distribution_of),
    and its model's name, version and run (`run_ids` by location and version), published at
    `published_at`."""
    frames = []
    for location, rows in forecasts.groupby("location", sort=False):
        known = history.loc[location].dropna()
        origin = pd.Period(known.index[-1], freq="M")
        frames.append(
            pd.DataFrame(
                {
                    "location": location,
                    "as_of": rows["as_of"].astype(str),
                    "month": rows["month"].astype(str),
                    "lead": [(pd.Period(m, freq="M") - origin).n for m in rows["month"]],
                    "forecast": rows["forecast"].astype(float),
                    "climatology": climatology_forecast(
                        known.to_numpy(float), calendar_of(known.index), calendar_of(rows["month"])
                    ),
                    "model_name": model_name(str(location)),
                    "model_version": rows["model_version"].astype(int),
                    "run_id": [run_ids[(location, str(v))] for v in rows["model_version"]],
                    "published_at": published_at,
                    **distribution_of(rows, known),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


@task(name="record-forecasts", cache_policy=NO_CACHE, **STORE_RETRIES)
def record_forecasts(forecasts: pd.DataFrame, history: pd.DataFrame, uri: str) -> int:
    """Append the published forecasts to the forecast history in one transaction, each with the
    run of its model version; a repeated or resumed retrain adds no row. Returns how many rows
    were new."""
    versions = forecasts[["location", "model_version"]].astype(str).drop_duplicates()
    run_ids = {
        (location, version): version_run_id(location, version)
        for location, version in versions.itertuples(index=False)
    }
    rows = history_rows(forecasts, history, run_ids, pd.Timestamp.now(tz="UTC"))
    added = append_forecasts(uri, rows)
    run_logger().info(
        f"forecast history at {shown(uri)}: {added} new rows of {len(rows)}"
        f" ({rows['location'].nunique()} locations, as_of {rows['as_of'].iloc[0]})"
    )
    return added
