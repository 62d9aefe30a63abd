"""The champions' forecasts of a batch: every location that has a champion, also those whose
training failed this time (production keeps its forecasts)."""

import pandas as pd
from prefect import unmapped

from tasks.pipeline.batch import Batch, UnitResults
from tasks.pipeline.failures import collect
from tasks.pipeline.fits import FittedUnits
from tasks.publish.forecasts import forecast_location


def forecast_all(results: UnitResults, fitted: FittedUnits, batch: Batch) -> None:
    """The current champion's forecast and its distribution for every location that has one,
    also those whose training failed this time (production keeps its forecasts)."""
    names = list(results.series)
    futures = batch.runner.map(
        forecast_location,
        {
            "series": [results.series[n] for n in names],
            "fitted": [fitted.units[n].forecast if n in fitted.units else None for n in names],
            "version": [
                results.tracked[n].model_version if n in results.tracked else "" for n in names
            ],
            "as_of": unmapped(batch.context.as_of),
            "distribution": [
                fitted.units[n].distribution if n in fitted.units else None for n in names
            ],
        },
    )
    frames = [f for f in collect(names, futures, results.failures, "forecast").values() if len(f)]
    if frames:
        results.forecasts = pd.concat(frames, ignore_index=True)
