"""Forecasts: each location's production model applied to its latest months."""

from pathlib import Path

import pandas as pd
from prefect import task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE

from tasks.charts import forecasts_chart_html, forecasts_chart_png, write_html, write_png
from tasks.datasets import LocationData
from tasks.model import predict
from tasks.months import month_range
from tasks.outputs import ensure_folder, write_csv
from tasks.tracking import attach_files, champion_version, load_version
from tasks.training import TrainedModel

FORECAST_COLUMNS = ["location", "month", "forecast", "as_of", "model_version"]


def forecast_frame(model: object, data: LocationData, as_of: str, version: str) -> pd.DataFrame:
    """The `horizon` months after the series' last month, from its latest `timestep` months."""
    timestep = int(model.input_shape[1])
    values = predict(model, data.series[-timestep:].reshape(1, timestep, 1))[0]
    last = pd.Period(data.months[-1], freq="M")
    months = month_range(last + 1, last + len(values))
    return pd.DataFrame(
        {
            "location": data.location,
            "month": months,
            "forecast": values.astype(float),
            "as_of": as_of,
            "model_version": version,
        },
        columns=FORECAST_COLUMNS,
    )


@task(name="forecast", cache_policy=NO_CACHE)
def forecast(
    data: LocationData, trained: TrainedModel | None, version: str, as_of: str
) -> pd.DataFrame:
    """Prefect task: forecast with the location's current champion, if it has one (the model
    in memory when the champion is the version just trained, else loaded from the registry)."""
    champion = champion_version(data.location)
    if champion is None:
        return pd.DataFrame(columns=FORECAST_COLUMNS)
    model = (
        trained.model
        if trained is not None and champion == version
        else load_version(data.location, champion)
    )
    return forecast_frame(model, data, as_of, champion)


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
