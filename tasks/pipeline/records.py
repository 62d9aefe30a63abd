"""A unit's run record: its metrics, curves, tags, tables, test window and charts, training data
and, unless the spec keeps none, its saved standalone model."""

from tasks.data.locations import LocationSeries
from tasks.model.backtests import backtest_rows, overall
from tasks.model.fitting import GroupFit
from tasks.pipeline.batch import Batch, UnitSpec
from tasks.pipeline.fits import UnitFit, with_network_copies
from tasks.pipeline.plan import UNIT_TAG
from tasks.publish.drawing import WindowCharts
from tasks.tracking.models import RepointedFiles, uncertainty_constants
from tasks.tracking.runs import RunRecord

BACKTEST_ARTIFACT = "backtest/backtest.csv"


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


def unit_tags(unit: UnitFit, batch: Batch, spec: UnitSpec, location: str) -> dict[str, str]:
    """The run's tags: its unit key, whether it has test metrics, its validation note, and the
    spec's own."""
    validation = unit.production.validation
    return {
        UNIT_TAG: batch.key(spec.kind, location),
        "tempcast.test_metrics": unit.note or "available",
        **({"tempcast.validation": validation.note} if validation else {}),
        **spec.tags,
    }


def unit_record(
    series: LocationSeries, unit: UnitFit, batch: Batch, spec: UnitSpec, model_file: bytes | None
) -> RunRecord:
    """Everything a unit's child run holds, from its fits (and the backtest of its forecast) and
    its saved standalone model (None: the run logs no model) with the location's uncertainty
    constants, which serving needs for the forecast's distribution."""
    production, location = unit.production, series.location
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
    window = unit.evaluation.table() if unit.evaluation else None
    title = f"{location}: test months (as of {batch.context.as_of})"
    return RunRecord(
        location=location,
        metrics=metrics,
        curves=curves,
        tags=unit_tags(unit, batch, spec, location),
        tables=tables,
        test_window=window,
        training_data=training_data,
        training_digest=known.digest(),
        model_file=model_file,
        example=training_data.tail(production.config.timestep).rename(
            columns={"temperature": "value"}
        ),
        model_tags=batch.model_tags,
        uncertainty=None if model_file is None else model_uncertainty(production, location),
        charts=None if window is None else WindowCharts(window, title),
    )


def model_uncertainty(fit: GroupFit, location: str) -> dict | None:
    """The uncertainty constants a location's model of the fit carries (None for a fit without
    a calibrated spread)."""
    if fit.spread is None:
        return None
    return uncertainty_constants(fit.spread, fit.spreads[location])


def chunk_records(
    series: dict[str, LocationSeries], units: dict[str, UnitFit], batch: Batch, spec: UnitSpec
) -> list[RunRecord]:
    """The run records of a chunk of units, each with its saved standalone model unless the
    spec keeps no models. Units that share a fit get one copy of its networks (see
    with_network_copies) and one model, given each location's constants in turn (see
    GroupFit.model_like) and saved."""
    fits = list(units.values())
    if not spec.models:
        return [unit_record(series[name], unit, batch, spec, None) for name, unit in units.items()]
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
        records.append(unit_record(series[name], unit, batch, spec, model_file))
    return records
