"""Tracking in chunks: each chunk's models are built around its own copy of the shared networks
(Keras records every model built around a network in it), so memory stays bounded; the next
chunk is made while one is logged."""

import numpy as np
from mlflow.tracking import MlflowClient
from prefect.task_runners import ThreadPoolTaskRunner

import tasks.pipeline.units as units_module
from tasks.model.evaluation import forecast_from
from tasks.model.settings import training_config
from tasks.pipeline.units import UnitResults, UnitSpec, fit_units, track_units, with_network_copies
from tasks.tracking.runs import RunContext, start_parent_run
from tasks.tracking.store import experiment_id
from tests.support.tiny import TINY_TRAINING, in_flow, prepared_table, series_of


def test_a_chunk_shares_one_copy_of_the_networks_that_forecasts_the_same():
    series = series_of(prepared_table(("Alpha", "Bravo", "Charlie")))
    fitted = fit_units.fn(series, training_config("default", TINY_TRAINING))
    originals = [fitted.units[s.location] for s in series]
    copies = with_network_copies(originals)
    assert len({id(unit.production) for unit in copies}) == 1
    shared, original = copies[0].production, originals[0].production
    assert not {id(m) for m in shared.members} & {id(m) for m in original.members}
    for s, before, after in zip(series, originals, copies, strict=True):
        assert after.evaluation_fit is before.evaluation_fit  # the evaluation is not rebuilt
        old = forecast_from(before.production.model(s.location), s, len(s))
        new = forecast_from(after.production.model(s.location), s, len(s))
        np.testing.assert_array_equal(old, new)


def test_without_refit_the_copy_is_also_the_evaluation_fit():
    series = series_of(prepared_table(("Alpha", "Bravo")))
    config = training_config("default", TINY_TRAINING.model_copy(update={"refit": False}))
    fitted = fit_units.fn(series, config)
    for unit in with_network_copies([fitted.units[s.location] for s in series]):
        assert unit.evaluation_fit is unit.production


def test_the_next_chunk_is_made_while_one_is_logged_and_every_unit_is_tracked(
    tracking_store, monkeypatch
):
    series = series_of(prepared_table(("Alpha", "Bravo", "Charlie")))
    fitted = fit_units.fn(series, training_config("default", TINY_TRAINING))
    steps: list[str] = []
    make, wait = units_module.chunk_records, units_module.collect_tracked
    monkeypatch.setattr(units_module, "TRACKING_CHUNK", 1)
    monkeypatch.setattr(units_module, "chunk_records", lambda *a: steps.append("make") or make(*a))
    monkeypatch.setattr(
        units_module, "collect_tracked", lambda *a: steps.append("wait") or wait(*a)
    )
    context = RunContext({"seed": 1}, "2013-12", "digest", "train", register=False)
    parent = start_parent_run.fn("train", {}, {})
    results = UnitResults(series={s.location: s for s in series})
    keys = {s.location: f"key-{s.location}" for s in series}

    def track() -> None:
        with ThreadPoolTaskRunner(max_workers=2) as runner:
            track_units(results, fitted.units, keys, context, UnitSpec("train"), parent, runner)

    in_flow(track)
    assert steps == ["make", "make", "wait", "make", "wait", "wait"]
    assert results.trained == ["Alpha", "Bravo", "Charlie"] and not results.failures
    runs = MlflowClient().search_runs([experiment_id()], "tags.`tempcast.kind` = 'train'")
    assert sorted(run.info.run_name for run in runs) == ["Alpha", "Bravo", "Charlie"]
