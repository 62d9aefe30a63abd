"""Forecasts: each location's champion applied to its latest months, published as files."""

from pathlib import Path

import numpy as np
import pandas as pd
from prefect import task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE

from tasks.data.locations import LocationSeries
from tasks.model.evaluation import forecast_from, months_after
from tasks.publish.charts import forecasts_chart_html, forecasts_chart_png, write_html, write_png
from tasks.publish.outputs import ensure_folder, write_csv
from tasks.tracking.models import load_version
from tasks.tracking.registry import current_champion
from tasks.tracking.runs import attach_files
from tasks.tracking.store import STORE_RETRIES

FORECAST_COLUMNS = ["location", "month", "forecast", "as_of", "model_version"]


def forecast_frame(
    series: LocationSeries, values: np.ndarray, as_of: str, version: str
) -> pd.DataFrame:
    """A forecast of the months after the series' last month, as rows."""
    return pd.DataFrame(
        {
            "location": series.location,
            "month": months_after(series, len(series), len(values)),
            "forecast": np.asarray(values, dtype=float),
            "as_of": as_of,
            "model_version": version,
        },
        columns=FORECAST_COLUMNS,
    )


@task(name="forecast-location", cache_policy=NO_CACHE, **STORE_RETRIES)
def forecast_location(
    series: LocationSeries, fitted: np.ndarray | None, version: str, as_of: str
) -> pd.DataFrame:
    """The forecast of the location's current champion, if it has one: `fitted` when the
    champion is the version just trained, else its registered model's."""
    champion = current_champion(series.location)
    if champion is None:
        return pd.DataFrame(columns=FORECAST_COLUMNS)
    if fitted is not None and champion.version == version:
        return forecast_frame(series, fitted, as_of, version)
    model = load_version(series.location, champion.version)
    return forecast_frame(
        series, forecast_from(model, series, len(series)), as_of, champion.version
    )


@task(name="publish-forecasts", cache_policy=NO_CACHE)
def publish_forecasts(
    forecasts: pd.DataFrame, history: pd.DataFrame, out: Path, parent_run_id: str
) -> dict[str, Path]:
    """Write forecasts.csv and the chart (HTML and PNG), show the table as a Prefect artifact,
    and attach all three to the parent MLflow run."""
    ensure_folder(out)
    title = f"Monthly mean temperature: history and forecast (as of {forecasts['as_of'].max()})"
    files = {
        "csv": write_csv(forecasts, out / "forecasts.csv"),
        "html": write_html(forecasts_chart_html(history, forecasts, title), out / "forecasts.html"),
        "png": write_png(forecasts_chart_png(history, forecasts, title), out / "forecasts.png"),
    }
    create_table_artifact(
        key="forecasts",
        table=forecasts.round(3).to_dict(orient="records"),
        description=f"tempcast forecasts, {len(forecasts['location'].unique())} locations",
    )
    attach_files(parent_run_id, list(files.values()), "forecasts")
    return files
