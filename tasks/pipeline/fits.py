"""Fitting a batch's units: the evaluation fit and the production fit of every location, fanned
out over the runner (or all together, with the global strategy), and each shared fit around
one copy of its networks while its chunk is tracked."""

import dataclasses
from dataclasses import dataclass, field

import numpy as np
from prefect import task, unmapped
from prefect.cache_policies import NO_CACHE

from tasks.data.locations import LocationSeries
from tasks.logs import run_logger
from tasks.model.evaluation import Evaluation, evaluate_group, group_forecasts
from tasks.model.fitting import FitRound, GroupFit, fit_locations, months_needed
from tasks.model.settings import TrainingConfig
from tasks.model.uncertainty import Distribution
from tasks.pipeline.batch import Batch, UnitSpec
from tasks.pipeline.failures import collect


@dataclass(frozen=True)
class UnitFit:
    """A location's production fit and its forecast of the months after its data, and its
    evaluation (None when its data has no room for a test window: `note` says why)."""

    production: GroupFit
    forecast: np.ndarray
    distribution: Distribution
    evaluation: Evaluation | None
    evaluation_fit: GroupFit | None
    note: str = ""


@dataclass
class FittedUnits:
    """The units fit in one training, and why any location could not be fit."""

    units: dict[str, UnitFit] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)


def by_group(
    fitted: FitRound, series: list[LocationSeries]
) -> list[tuple[GroupFit, list[LocationSeries]]]:
    """The fitted locations' series, grouped by the fit they share."""
    groups: dict[int, tuple[GroupFit, list[LocationSeries]]] = {}
    for s in series:
        if s.location in fitted.fits:
            fit = fitted.fits[s.location]
            groups.setdefault(id(fit), (fit, []))[1].append(s)
    return list(groups.values())


def untestable(needed: int, months: int) -> str:
    """Why a unit has no test metrics."""
    return f"test metrics unavailable: a test window needs {needed} months, there are {months}"


NOT_EVALUATED = "test metrics not computed: the backtest of the production forecast scores it"


@task(name="fit-locations", cache_policy=NO_CACHE)
def fit_units(
    series: list[LocationSeries], config: TrainingConfig, evaluate: bool = True
) -> FittedUnits:
    """Train: the evaluation fit (the last `horizon` months held out) and scored, then with
    `refit` the production fit on every month, and its forecasts; a location too short for a
    test window still gets its production fit (with refit), without test metrics. Without
    `evaluate` (a backfill, whose backtest is the evaluation) only the production fit is made."""
    log = run_logger().info
    needed = months_needed(config, config.horizon)
    skip = config.refit and not evaluate
    testable = [] if skip else [s for s in series if len(s) >= needed]
    evaluation = fit_locations(testable, config, config.horizon, log)
    production = fit_locations(series, config, 0, log) if config.refit else evaluation
    scored = {
        name: result
        for fit, members in by_group(evaluation, testable)
        for name, result in evaluate_group(fit, members).items()
    }
    result = FittedUnits()
    for fit, members in by_group(production, series):
        forecasts = group_forecasts(fit, members, fit.origin)
        for s, forecast in zip(members, forecasts, strict=True):
            note = NOT_EVALUATED if skip else untestable(needed, len(s))
            note = "" if s.location in scored else note
            result.units[s.location] = UnitFit(
                fit,
                forecast,
                fit.distribution(s, forecast),
                scored.get(s.location),
                evaluation.fits.get(s.location),
                note,
            )
    untested = [name for name, unit in result.units.items() if unit.note]
    if untested and not skip:
        log(f"{len(untested)} of {len(series)} locations: {result.units[untested[0]].note}")
    for s in series:
        if s.location not in result.units:
            reason = production.failures.get(s.location) or evaluation.failures.get(s.location)
            result.failures[s.location] = reason or f"needs {needed} months, has {len(s)}"
    return result


def with_network_copies(units: list[UnitFit]) -> list[UnitFit]:
    """The units with each shared production fit around one copy of its networks, so that the
    models built for a chunk of locations are freed with the chunk (see GroupFit's
    with_copied_networks): memory stays bounded however many locations share the fit."""
    copies: dict[int, GroupFit] = {}
    result = []
    for unit in units:
        fit = unit.production
        if id(fit) not in copies:
            copies[id(fit)] = fit.with_copied_networks()
        copy = copies[id(fit)]
        checked = copy if unit.evaluation_fit is fit else unit.evaluation_fit
        result.append(dataclasses.replace(unit, production=copy, evaluation_fit=checked))
    return result


def fit_todo(
    series: dict[str, LocationSeries], todo: list[str], batch: Batch, spec: UnitSpec
) -> FittedUnits:
    """Fit the units to do: with the global strategy every location together (so that a
    resumed batch gives the same models as a clean one), else each on its own via the runner."""
    config = batch.config
    if config.strategy == "global":
        return fit_units(list(series.values()), config, spec.evaluate)
    futures = batch.runner.map(
        fit_units,
        {
            "series": [[series[n]] for n in todo],
            "config": unmapped(config),
            "evaluate": unmapped(spec.evaluate),
        },
    )
    result = FittedUnits()
    for fitted in collect(todo, futures, result.failures, "training").values():
        result.units.update(fitted.units)
        result.failures.update(fitted.failures)
    return result
