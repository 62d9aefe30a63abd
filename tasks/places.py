"""Where things live: the observations file and its mirror, the observation store, the result
folders and the names of the files written in them, the MLflow tracking store, the forecast
history and the Dask scheduler. One typed object, read from the options and the environment at
the edge (the CLI, or a flow's start when a deployment runs it) and passed down; this is the only
module that reads these environment variables.

A step called without a place (a test, a benchmark, a plain script) gets the same answer from
Places.from_environment() that the edge would have given it.
"""

import os
from pathlib import Path

from pydantic import BaseModel, ConfigDict

DATA_VARIABLE = "TEMPCAST_DATA"
DATA_URL_VARIABLE, DATA_SHA256_VARIABLE = "TEMPCAST_DATA_URL", "TEMPCAST_DATA_SHA256"
TRACKING_VARIABLE = "MLFLOW_TRACKING_URI"
HISTORY_VARIABLE = "TEMPCAST_FORECASTS_URI"
DASK_VARIABLE = "TEMPCAST_DASK_ADDRESS"
OBSERVATIONS_VARIABLE = "TEMPCAST_OBSERVATIONS_URI"
DEFAULT_TRACKING_URI = "sqlite:///mlflow.db"
DEFAULT_HISTORY_URI = "sqlite:///forecasts.db"
DEFAULT_OBSERVATIONS_URI = "sqlite:///observations.db"
DEFAULT_OUT = "outputs"
# Each flow's result folder when none is given (a backfill's beside the others, not over them).
OUT_FOLDERS = {"prepare": DEFAULT_OUT, "train": DEFAULT_OUT, "retrain": DEFAULT_OUT}
OUT_FOLDERS["backfill"] = f"{DEFAULT_OUT}/backfill"


class OutputFiles(BaseModel):
    """The names of the result files the flows write in their folder."""

    model_config = ConfigDict(frozen=True)

    monthly: str = "monthly.csv"
    imputed: str = "imputed.csv"
    rejects: str = "rejects.csv"
    report: str = "report.json"
    monthly_chart: str = "monthly.html"
    metrics: str = "metrics.csv"
    forecasts: str = "forecasts.csv"
    forecasts_html: str = "forecasts.html"
    forecasts_png: str = "forecasts.png"
    live_accuracy: str = "live_accuracy.csv"
    live_champions: str = "live_champions.csv"
    live_accuracy_html: str = "live_accuracy.html"
    live_accuracy_png: str = "live_accuracy.png"
    backtest: str = "backtest.csv"
    backtest_summary: str = "backtest_{name}.csv"  # name: by_step, by_location
    backtest_by_step_html: str = "backtest_by_step.html"
    backtest_by_step_png: str = "backtest_by_step.png"


FILES = OutputFiles()


class Places(BaseModel):
    """Where one run reads and writes: the observations file (None: looked for in the default
    places, else fetched; or the observation store's URL), its mirror (URL and SHA-256, both
    or neither), the observation store that `tempcast ingest` writes, the result folder (None:
    the flow's own, OUT_FOLDERS), the tracking store, the forecast history and the Dask
    scheduler (None: a local cluster)."""

    model_config = ConfigDict(frozen=True)

    data: str | None = None
    data_url: str | None = None
    data_sha256: str | None = None
    observations_uri: str = DEFAULT_OBSERVATIONS_URI
    out: str | None = None
    tracking_uri: str = DEFAULT_TRACKING_URI
    history_uri: str = DEFAULT_HISTORY_URI
    dask_address: str | None = None

    @classmethod
    def from_environment(
        cls, data: str | None = None, out: str | None = None, dask_address: str | None = None
    ) -> "Places":
        """The places the options give (`data`, `out`, `dask_address`), the rest from the
        environment ($TEMPCAST_DATA, $TEMPCAST_DATA_URL and $TEMPCAST_DATA_SHA256,
        $TEMPCAST_OBSERVATIONS_URI, $MLFLOW_TRACKING_URI, $TEMPCAST_FORECASTS_URI,
        $TEMPCAST_DASK_ADDRESS), else the defaults. An empty variable counts as not set."""
        env = {name: os.environ.get(name) or None for name in ENVIRONMENT}
        return cls(
            data=data or env[DATA_VARIABLE],
            data_url=env[DATA_URL_VARIABLE],
            data_sha256=env[DATA_SHA256_VARIABLE],
            observations_uri=env[OBSERVATIONS_VARIABLE] or DEFAULT_OBSERVATIONS_URI,
            out=out,
            tracking_uri=env[TRACKING_VARIABLE] or DEFAULT_TRACKING_URI,
            history_uri=env[HISTORY_VARIABLE] or DEFAULT_HISTORY_URI,
            dask_address=dask_address or env[DASK_VARIABLE],
        )

    def out_folder(self, flow: str) -> Path:
        """The result folder of a flow: the one given, else the flow's default."""
        return Path(self.out or OUT_FOLDERS[flow])


# Prefect's own variables that can say where its API is: the CLI reads them before deciding to
# import Prefect (two to three seconds) at all.
PREFECT_VARIABLES = ("PREFECT_API_URL", "PREFECT_PROFILE", "PREFECT_HOME", "PREFECT_PROFILES_PATH")


def prefect_environment() -> dict[str, str | None]:
    """PREFECT_VARIABLES as set (None: unset or empty)."""
    return {name: os.environ.get(name) or None for name in PREFECT_VARIABLES}


ENVIRONMENT = (
    DATA_VARIABLE,
    DATA_URL_VARIABLE,
    DATA_SHA256_VARIABLE,
    OBSERVATIONS_VARIABLE,
    TRACKING_VARIABLE,
    HISTORY_VARIABLE,
    DASK_VARIABLE,
)
