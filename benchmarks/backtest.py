"""Benchmark: a rolling-origin backtest of every location, the default recipe beside the
strongest simple forecasters, scored on the same months.

Runs `tempcast backfill --from 2012-06 --to 2015-11 --all` (42 origins) in its own process with a
fresh tracking store. Then, on the same data as of each origin (the prepared table cut there),
fits a two-harmonic regression (a mean and two annual harmonics, least squares) and
statsforecast's AutoETS (season 12) on every month up to the origin. The model, climatology,
seasonal naive (both from backtest.csv), the harmonic regression and AutoETS are scored on the
observed months: MAE overall and for steps 1-3, 4-12 and 13-18, months scored, wall times.

    python -m benchmarks.backtest [--from 2012-06] [--to 2015-11] [--json PATH]
"""

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.speed import run_command
from tasks.calls import as_function
from tasks.data.ingest import IngestResult, ingest_observations, resolve_data_path
from tasks.data.locations import location_series
from tasks.data.prepared import Prepared, prepare_data
from tasks.model.climatology import harmonic_climatology

STEP_GROUPS = {"steps_1_3": (1, 3), "steps_4_12": (4, 12), "steps_13_18": (13, 18)}
FORECASTERS = {
    "default_recipe": "forecast",
    "climatology": "baseline_climatology",
    "seasonal_naive": "baseline_seasonal_naive",
    "harmonic_regression": "harmonic",
    "auto_ets": "auto_ets",
}


def harmonic_forecast(values: np.ndarray, calendar: np.ndarray, ahead: np.ndarray) -> np.ndarray:
    """A mean and two annual harmonics fit on every known month, valued at the months ahead."""
    return harmonic_climatology(values, calendar, harmonics=2)[ahead]


def ets_forecast(values: np.ndarray, horizon: int) -> np.ndarray:
    """statsforecast's AutoETS with a 12-month season, fit on every known month."""
    from statsforecast.models import AutoETS

    return AutoETS(season_length=12).fit(values).predict(h=horizon)["mean"]


def prepared_as_of(ingested: IngestResult, as_of: pd.Period) -> Prepared:
    """The data as the backfill prepares it as of a month (its steps called directly)."""
    return prepare_data(ingested, "auto", None, as_of, call=as_function)


def peer_forecasts(rows: pd.DataFrame, data: Path) -> pd.DataFrame:
    """The harmonic regression's and AutoETS's forecasts for every (as_of, location) of the
    backtest, from the data prepared as of each origin (as the backfill prepared it)."""
    ingested = ingest_observations.fn(data)
    frames = []
    for as_of, origin_rows in rows.groupby("as_of"):
        prepared = prepared_as_of(ingested, pd.Period(as_of, freq="M"))
        names = sorted(origin_rows["location"].unique())
        for name, series in location_series(prepared, names).items():
            horizon = int(origin_rows.loc[origin_rows["location"] == name, "step"].max())
            calendar = series.calendar(len(series) + horizon)
            frames.append(
                pd.DataFrame(
                    {
                        "as_of": as_of,
                        "location": name,
                        "step": np.arange(1, horizon + 1),
                        "harmonic": harmonic_forecast(
                            series.values, calendar[: len(series)], calendar[len(series) :]
                        ),
                        "auto_ets": ets_forecast(series.values, horizon),
                    }
                )
            )
    return pd.concat(frames, ignore_index=True)


def scores(rows: pd.DataFrame, column: str) -> dict[str, float]:
    """MAE of one forecaster's column over the observed months, overall and by step group."""
    errors = (rows[column] - rows["actual"]).abs()
    result = {"mae": round(float(errors.mean()), 4)}
    for name, (first, last) in STEP_GROUPS.items():
        result[name] = round(float(errors[rows["step"].between(first, last)].mean()), 4)
    return result


def backtest(folder: Path, start: str, end: str, extra: list[str]) -> dict:
    """Run the backfill over the range, add the peers, and score every forecaster."""
    command = ["backfill", "--from", start, "--to", end, "--all", *extra]
    run = run_command(command, folder, results="backtest_by_step.csv")
    rows = pd.read_csv(folder / "out" / "backtest.csv")
    started = time.perf_counter()
    data = resolve_data_path(extra[extra.index("--data") + 1] if "--data" in extra else None)
    peers = peer_forecasts(rows, data)
    peer_seconds = time.perf_counter() - started
    scored = rows.merge(peers, on=["as_of", "location", "step"], how="left").dropna(
        subset=["actual"]
    )
    return {
        "range": f"{start}..{end}",
        "origins": int(scored["as_of"].nunique()),
        "locations": int(scored["location"].nunique()),
        "months_scored": len(scored),
        "backfill_seconds": round(run.seconds, 1),
        "backfill_peak_mib": round(run.peak_mib),
        "peers_seconds": round(peer_seconds, 1),
        "forecasters": {name: scores(scored, column) for name, column in FORECASTERS.items()},
    }


def main() -> None:
    """Parse options, run the backtest, print and save the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from", dest="start", default="2012-06")
    parser.add_argument("--to", dest="end", default="2015-11")
    parser.add_argument("--json", type=Path, default=Path("benchmarks/results/backtest.json"))
    options = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="tempcast-backtest-"))
    result = backtest(folder, options.start, options.end, [])
    options.json.parent.mkdir(parents=True, exist_ok=True)
    options.json.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
