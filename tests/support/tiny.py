"""Tiny settings and data shared by the tests: a few epochs of a small network on five years of
synthetic months, so that a flow trains in seconds."""

from pathlib import Path

import numpy as np
import pandas as pd

from tasks.data.locations import LocationSeries
from tasks.data.months import month_range
from tasks.data.prepared import Prepared
from tasks.model.settings import TrainingOverrides
from tasks.settings import RunSettings
from tests.support.synthetic import synthetic_observations, write_observations

TINY_TRAINING = TrainingOverrides(
    epochs=2, timestep=6, horizon=6, units=4, ensemble=1, validation_months=6
)
TINY_OPTIONS = [
    *("--epochs", "2", "--timestep", "6", "--horizon", "6", "--units", "4"),
    *("--ensemble", "1", "--validation-months", "6"),
]


def tiny_settings(data: Path | str, out: Path | str, **changes: object) -> RunSettings:
    """Run settings with the tiny training settings (unless changed), for the data file and
    output folder."""
    return RunSettings(**{"training": TINY_TRAINING, "data": str(data), "out": str(out), **changes})


def observations_file(
    folder: Path,
    locations: tuple[str, ...] = ("Alpha", "Bravo"),
    end: str = "2013-12-31",
    name: str = "obs.csv",
) -> Path:
    """Synthetic daily observations of the locations from 2009 to `end`, written as CSV."""
    frame = synthetic_observations(locations, "2009-01-01", end)
    return write_observations(frame, folder / name)


def prepared_table(locations=("Alpha", "Bravo"), months=60, seed=0) -> Prepared:
    """A small complete monthly table with a yearly cycle per location."""
    rng = np.random.default_rng(seed)
    labels = month_range("2009-01", "2030-12")[:months]
    cycle = 8 * np.cos(2 * np.pi * np.arange(months) / 12)
    rows = {
        name: 15 + i * 3 + cycle + rng.normal(0, 0.5, months) for i, name in enumerate(locations)
    }
    table = pd.DataFrame(rows, index=labels).T
    table.index.name = "Location"
    return Prepared(
        table=table, mask=table.isna(), rejects=pd.DataFrame(), report={"data_digest": "x"}
    )


def series_of(prepared: Prepared) -> list[LocationSeries]:
    """Every location's series of a prepared table."""
    return [
        LocationSeries(name, prepared.table.loc[name].to_numpy(float), prepared.months)
        for name in prepared.locations
    ]


def in_flow(function, *args, **kwargs):
    """Call a function that chains Prefect tasks inside a throwaway flow, as the real flows do.

    The arguments are bound in a closure: flow parameters are sent to the Prefect API, which
    refuses large values such as data frames.
    """
    from prefect import flow

    @flow(name=f"test-{function.__name__}")
    def wrapper():
        return function(*args, **kwargs)

    return wrapper()


def quiet(_: str) -> None:
    """Discard progress lines."""
