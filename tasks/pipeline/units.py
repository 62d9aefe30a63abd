"""The unit pipeline: every location's unit of work, as train, retrain and backfill all run it.

A unit is one location as of one month with given settings and data. For a batch of units:
plan (reuse finished units, clear crashed ones), fit (the evaluation fit on what was known at
the test window's origin, scored beside both baselines; then, with `refit`, the production fit
on everything known at as_of), track (one child run per location, its model registered unless
the spec says otherwise), and, as the spec asks, score the production forecast against what
happened (backfill), promote (each chunk of locations as soon as it is tracked), and forecast
from the champions (retrain).
"""

import dataclasses
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from prefect import task, unmapped
from prefect.cache_policies import NO_CACHE
from prefect.task_runners import TaskRunner

from tasks.backtest.scoring import BACKTEST_COLUMNS, backtest_rows, overall
from tasks.data.locations import LocationSeries, location_series
from tasks.data.prepared import Prepared
from tasks.logs import run_logger
from tasks.model.evaluation import Evaluation, evaluate_group, group_forecasts
from tasks.model.fitting import FitRound, GroupFit, fit_locations, months_needed
from tasks.model.settings import TrainingConfig
from tasks.model.uncertainty import Distribution
from tasks.pipeline.failures import LocationsFailed, Progress, collect
from tasks.pipeline.plan import UNIT_TAG, plan_units, unit_key
from tasks.pipeline.promotion import Decision, promote_location, score_champion_settings
from tasks.publish.forecasts import FORECAST_COLUMNS, forecast_location
from tasks.publish.reports import (
    format_table,
    metrics_table,
    publish_metrics,
    summary_metrics,
)
from tasks.settings import settings_digest
from tasks.tracking.models import RepointedFiles, uncertainty_constants
from tasks.tracking.registry import SETTINGS_DIGEST_TAG, SETTINGS_TAG, current_champion
from tasks.tracking.runs import (
    RunContext,
    RunRecord,
    TrackedLocation,
    close_parent_run,
    log_location_run,
    read_artifact_table,
    tracked_from_run,
)

BACKTEST_ARTIFACT = "backtest/backtest.csv"
# Locations whose run records (each with its standalone model) are built and tracked at a time:
# memory stays bounded however many locations there are.
TRACKING_CHUNK = 64


@dataclass(frozen=True)
class UnitSpec:
    """What a flow asks of its units beyond fitting, evaluating and tracking them."""

    kind: str
    register: bool = True
    evaluate: bool = True
    models: bool = True
    promote: bool = False
    forecast: bool = False
    truth: pd.DataFrame | None = None
    tags: dict[str, str] = field(default_factory=dict)


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


@dataclass
class UnitResults:
    """What a batch of units produced: tracked runs, promotion decisions, forecasts, backtest
    rows, which units were trained or reused, and why any location failed."""

    series: dict[str, LocationSeries]
    tracked: dict[str, TrackedLocation] = field(default_factory=dict)
    decisions: dict[str, Decision] = field(default_factory=dict)
    forecasts: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=FORECAST_COLUMNS))
    backtest: list[pd.DataFrame] = field(default_factory=list)
    trained: list[str] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)

    @property
    def table(self) -> pd.DataFrame:
        """The metrics table of the tracked locations."""
        return metrics_table(list(self.tracked.values()))


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


def unit_metrics(unit: UnitFit) -> dict[str, float]:
    """The run's summary metrics: the evaluation's scores and how the fits were trained."""
    production, checked = unit.production, unit.evaluation_fit
    extra = checked.seconds if checked is not None and checked is not production else 0
    seconds = production.seconds + extra
    metrics = {
        **(unit.evaluation.metrics if unit.evaluation else {}),
        "train_seconds": seconds,
        "epochs_trained": production.epochs,
        "correction_steps": production.steps,
    }
    if checked is not None:
        metrics |= {
            "evaluation_epochs": checked.epochs,
            "evaluation_correction_steps": checked.steps,
        }
    return metrics


def unit_record(
    series: LocationSeries,
    unit: UnitFit,
    spec: UnitSpec,
    key: str,
    model_tags: dict[str, str],
    model_file: bytes | None,
) -> RunRecord:
    """Everything a unit's child run holds, from its fits (and the backtest of its forecast) and
    its saved standalone model (None: the run logs no model) with the location's uncertainty
    constants, which serving needs for the forecast's distribution."""
    production = unit.production
    known = series.until(production.origin)
    training_data = known.frame()
    curves = {name: production.history.get(name, []) for name in ("loss", "val_loss")}
    if production.validation is not None:
        curves["validation_mae"] = production.validation.mae
    metrics, tables = unit_metrics(unit), {}
    if spec.truth is not None:
        rows = backtest_rows(known, series.months[-1], unit.forecast, spec.truth, unit.distribution)
        tables[BACKTEST_ARTIFACT] = rows
        metrics |= overall(rows)
    return RunRecord(
        location=series.location,
        metrics=metrics,
        curves=curves,
        tags={
            UNIT_TAG: key,
            "tempcast.test_metrics": unit.note or "available",
            **(
                {"tempcast.validation": production.validation.note} if production.validation else {}
            ),
            **spec.tags,
        },
        tables=tables,
        test_window=unit.evaluation.table() if unit.evaluation else None,
        training_data=training_data,
        training_digest=known.digest(),
        model_file=model_file,
        example=training_data.tail(production.config.timestep).rename(
            columns={"temperature": "value"}
        ),
        model_tags=model_tags,
        uncertainty=None if model_file is None else model_uncertainty(production, series.location),
    )


def model_uncertainty(fit: GroupFit, location: str) -> dict | None:
    """The uncertainty constants a location's model of the fit carries (None for a fit without
    a calibrated spread)."""
    if fit.spread is None:
        return None
    return uncertainty_constants(fit.spread, fit.spreads[location])


def fit_todo(
    series: dict[str, LocationSeries],
    todo: list[str],
    config: TrainingConfig,
    spec: UnitSpec,
    runner: TaskRunner,
) -> FittedUnits:
    """Fit the units to do: with the global strategy every location together (so that a
    resumed batch gives the same models as a clean one), else each on its own via the runner."""
    if config.strategy == "global":
        return fit_units(list(series.values()), config, spec.evaluate)
    futures = runner.map(
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


class Promotions:
    """Promotion of every tracked location, started chunk by chunk as soon as the chunk is
    tracked, so that it runs beside the tracking of the next chunk. Champions with other
    settings are scored on the same test window first, all together (see
    score_champion_settings); then each location decides under its lock (promote_location)."""

    def __init__(
        self,
        results: UnitResults,
        names: list[str],
        config: TrainingConfig,
        digest: str,
        runner: TaskRunner,
    ) -> None:
        self.results, self.digest, self.runner = results, digest, runner
        self.horizon, self.reused = config.horizon, set(results.reused)
        champions = {n: current_champion(n) for n in names}
        other = {
            n: c for n, c in champions.items() if c and c.tags.get(SETTINGS_DIGEST_TAG) != digest
        }
        self.scores = score_champion_settings(results.series, other, self.horizon) if other else {}
        self.names: list[str] = []
        self.futures: list = []

    def start(self, names: list[str]) -> None:
        """Start promoting those of the locations that were tracked with a registered version."""
        tracked = self.results.tracked
        todo = [n for n in names if n in tracked and tracked[n].model_version]
        self.futures += self.runner.map(
            promote_location,
            {
                "tracked": [tracked[n] for n in todo],
                "digest": unmapped(self.digest),
                "series": [self.results.series[n] for n in todo],
                "horizon": unmapped(self.horizon),
                "scored": [self.scores.get(n) for n in todo],
                "reused": [n in self.reused for n in todo],
            },
        )
        self.names += todo

    def finish(self) -> None:
        """Wait for every promotion started; keep the decisions."""
        progress = Progress("promotion", len(self.names), run_logger().info)
        failures = self.results.failures
        self.results.decisions = collect(self.names, self.futures, failures, "promotion", progress)


def forecast_all(results: UnitResults, fitted: FittedUnits, as_of: str, runner: TaskRunner) -> None:
    """The current champion's forecast and its distribution for every location that has one,
    also those whose training failed this time (production keeps its forecasts)."""
    names = list(results.series)
    futures = runner.map(
        forecast_location,
        {
            "series": [results.series[n] for n in names],
            "fitted": [fitted.units[n].forecast if n in fitted.units else None for n in names],
            "version": [
                results.tracked[n].model_version if n in results.tracked else "" for n in names
            ],
            "as_of": unmapped(as_of),
            "distribution": [
                fitted.units[n].distribution if n in fitted.units else None for n in names
            ],
        },
    )
    frames = [f for f in collect(names, futures, results.failures, "forecast").values() if len(f)]
    if frames:
        results.forecasts = pd.concat(frames, ignore_index=True)


def chunk_records(
    series: dict[str, LocationSeries],
    units: dict[str, UnitFit],
    keys: dict[str, str],
    spec: UnitSpec,
    model_tags: dict[str, str],
) -> list[RunRecord]:
    """The run records of a chunk of units, each with its saved standalone model unless the
    spec keeps no models. Units that share a fit get one copy of its networks (see
    with_network_copies) and one model, given each location's constants in turn (see
    GroupFit.model_like) and saved."""
    fits = list(units.values())
    if not spec.models:
        return [
            unit_record(series[name], unit, spec, keys[name], model_tags, None)
            for name, unit in units.items()
        ]
    if len({id(unit.production) for unit in fits}) < len(fits):
        fits = with_network_copies(fits)
    files: dict[int, RepointedFiles] = {}
    records = []
    for name, unit in zip(units, fits, strict=True):
        fit, earlier = unit.production, files.get(id(unit.production))
        model = fit.model_like(earlier.model if earlier else None, name)
        if earlier is not None and earlier.model is model:
            model_file = earlier.saved()
        else:
            files[id(fit)] = RepointedFiles(model)
            model_file = files[id(fit)].first
        records.append(unit_record(series[name], unit, spec, keys[name], model_tags, model_file))
    return records


def track_units(
    results: UnitResults,
    units: dict[str, UnitFit],
    keys: dict[str, str],
    context: RunContext,
    spec: UnitSpec,
    parent_run_id: str,
    runner: TaskRunner,
    promotions: Promotions | None = None,
) -> None:
    """Track the fitted units, TRACKING_CHUNK locations at a time: while the runner logs one
    chunk, the next chunk's records (their models saved) are made, so that a runner of worker
    processes never waits for them; at most two chunks' records are held at once. With
    `promotions`, each chunk's promotion starts as soon as it is tracked."""
    model_tags = {
        SETTINGS_TAG: json.dumps(context.settings, default=str),
        SETTINGS_DIGEST_TAG: settings_digest(context.settings),
    }
    names = list(units)
    progress = Progress("tracking", len(names), run_logger().info)
    submitted = []
    for start in range(0, len(names), TRACKING_CHUNK):
        chunk = names[start : start + TRACKING_CHUNK]
        todo = {n: units[n] for n in chunk}
        records = chunk_records(results.series, todo, keys, spec, model_tags)
        futures = runner.map(
            log_location_run,
            {
                "parent_run_id": unmapped(parent_run_id),
                "context": unmapped(context),
                "record": records,
            },
        )
        submitted.append((chunk, futures, records))
        if len(submitted) == 2:
            collect_tracked(results, *submitted.pop(0), progress, promotions)
    for pending in submitted:
        collect_tracked(results, *pending, progress, promotions)


def collect_tracked(
    results: UnitResults,
    chunk: list[str],
    futures: list,
    records: list[RunRecord],
    progress: Progress,
    promotions: Promotions | None = None,
) -> None:
    """Wait for a chunk's tracking; keep its tracked locations and backtest rows, and start
    their promotion (with `promotions`)."""
    tracked = collect(chunk, futures, results.failures, "tracking", progress)
    results.tracked.update(tracked)
    results.trained.extend(tracked)
    if promotions is not None:
        promotions.start(list(tracked))
    for record in records:
        if record.location in tracked and BACKTEST_ARTIFACT in record.tables:
            results.backtest.append(record.tables[BACKTEST_ARTIFACT][BACKTEST_COLUMNS])


def run_units(
    prepared: Prepared,
    locations: list[str],
    config: TrainingConfig,
    context: RunContext,
    spec: UnitSpec,
    parent_run_id: str,
    runner: TaskRunner,
    force: bool = False,
) -> UnitResults:
    """Plan, fit, evaluate and track every location's unit; then score, promote and forecast as
    the spec asks. A location that fails is reported and does not stop the others."""
    log = run_logger().info
    started = time.monotonic()
    results = UnitResults(series=location_series(prepared, locations))
    digest = settings_digest(context.settings)
    keys = {
        n: unit_key(spec.kind, n, context.as_of, digest, context.data_digest) for n in locations
    }
    plan = plan_units(spec.kind, context.as_of, keys, force)
    results.failures.update(plan.busy)
    for name, run in plan.finished.items():
        results.tracked[name] = tracked_from_run(run)
        if spec.truth is not None:
            results.backtest.append(read_artifact_table(run.info.run_id, BACKTEST_ARTIFACT))
        results.reused.append(name)
    fitted = FittedUnits()
    if plan.todo:
        fitted = fit_todo(results.series, plan.todo, config, spec, runner)
    results.failures.update({n: why for n, why in fitted.failures.items() if n in plan.todo})
    ready = {n: fitted.units[n] for n in plan.todo if n in fitted.units}
    promotions = None
    if spec.promote:
        promotions = Promotions(results, [*results.reused, *ready], config, digest, runner)
        promotions.start(results.reused)
    track_units(results, ready, keys, context, spec, parent_run_id, runner, promotions)
    log(
        f"as_of {context.as_of}: {len(results.trained)} of {len(locations)} locations trained and"
        f" tracked, {len(results.reused)} reused ({time.monotonic() - started:.0f} s)"
    )
    if promotions is not None:
        promotions.finish()
    if spec.forecast:
        forecast_all(results, fitted, context.as_of, runner)
    return results


def finish_units(
    table: pd.DataFrame, failures: dict[str, str], parent_run_id: str, out: Path, kind: str
) -> None:
    """Publish the metrics, close the parent run, and fail naming any failed location."""
    publish_metrics(table, out, key=f"{kind}-metrics", description=f"tempcast {kind}: test metrics")
    summary = {**summary_metrics(table), "locations_trained": len(table)}
    close_parent_run(parent_run_id, {"metrics.csv": table}, summary, failures)
    if failures:
        raise LocationsFailed(failures, format_table(table) if len(table) else "")
