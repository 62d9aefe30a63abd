"""Tracking in chunks: each chunk's models are built around its own copy of the shared networks
(Keras records every model built around a network in it), so memory stays bounded; one model per
fit is given each location's constants in turn; the next chunk is made while one is logged, and
each is promoted as soon as it is tracked."""

import keras
import numpy as np
from mlflow.tracking import MlflowClient
from prefect.task_runners import ThreadPoolTaskRunner

import tasks.pipeline.tracking as tracking_module
import tasks.tracking.models as models_module
from tasks.model.evaluation import forecast_from
from tasks.model.settings import training_config
from tasks.pipeline.batch import Batch, UnitResults, UnitSpec
from tasks.pipeline.fits import fit_units, with_network_copies
from tasks.pipeline.promotion import Promotions
from tasks.pipeline.records import chunk_records
from tasks.pipeline.tracking import track_units
from tasks.tracking.runs import RunContext, start_parent_run
from tasks.tracking.store import experiment_id, model_name
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


def test_each_saved_model_of_a_chunk_forecasts_what_a_model_built_for_its_location_does(
    tmp_path, monkeypatch
):
    series = series_of(prepared_table(("Alpha", "Bravo", "Charlie")))
    keras_saves: list[str] = []
    save = models_module.saved_model
    monkeypatch.setattr(
        models_module, "saved_model", lambda m: keras_saves.append(m.name) or save(m)
    )
    # default: one model given each location's constants, saved by Keras once and then written
    # into; article: a model per location, each saved by Keras
    for recipe, saves in (("default", 1), ("article", 3)):
        keras_saves.clear()
        config = training_config(recipe, TINY_TRAINING)
        fitted = fit_units.fn(series, config)
        batch = Batch(config, RunContext({}, "2013-12", "digest", "train"), "", None)
        records = chunk_records(
            {s.location: s for s in series}, fitted.units, batch, UnitSpec("train")
        )
        assert len(keras_saves) == saves
        for s, record in zip(series, records, strict=True):
            path = tmp_path / f"{recipe}-{s.location}.keras"
            path.write_bytes(record.model_file)
            loaded = keras.saving.load_model(path, safe_mode=True, compile=False)
            built = fitted.units[s.location].production.model(s.location)
            np.testing.assert_array_equal(
                forecast_from(loaded, s, len(s)), forecast_from(built, s, len(s))
            )


def test_without_refit_the_copy_is_also_the_evaluation_fit():
    series = series_of(prepared_table(("Alpha", "Bravo")))
    config = training_config("default", TINY_TRAINING.model_copy(update={"refit": False}))
    fitted = fit_units.fn(series, config)
    for unit in with_network_copies([fitted.units[s.location] for s in series]):
        assert unit.evaluation_fit is unit.production


def test_the_next_chunk_is_made_while_one_is_logged_and_each_is_promoted_once_tracked(
    tracking_store, monkeypatch
):
    series = series_of(prepared_table(("Alpha", "Bravo", "Charlie")))
    config = training_config("default", TINY_TRAINING)
    fitted = fit_units.fn(series, config)
    steps: list[str] = []
    make, wait = tracking_module.chunk_records, tracking_module.collect_tracked
    promote = Promotions.start
    monkeypatch.setattr(tracking_module, "TRACKING_CHUNK", 1)
    monkeypatch.setattr(
        tracking_module, "chunk_records", lambda *a: steps.append("make") or make(*a)
    )
    monkeypatch.setattr(
        tracking_module, "collect_tracked", lambda *a: steps.append("wait") or wait(*a)
    )
    monkeypatch.setattr(
        Promotions,
        "start",
        lambda self, names: steps.append(f"promote {names}") or promote(self, names),
    )
    context = RunContext({"seed": 1}, "2013-12", "digest", "train")
    parent = start_parent_run.fn("train", {}, {})
    results = UnitResults(series={s.location: s for s in series})
    names = [s.location for s in series]

    def track() -> None:
        with ThreadPoolTaskRunner(max_workers=2) as runner:
            batch = Batch(config, context, parent, runner)
            promotions = Promotions(results, names, batch)
            track_units(results, fitted.units, batch, UnitSpec("train"), promotions)
            promotions.finish()

    in_flow(track)
    assert steps == [
        *("make", "make", "wait", "promote ['Alpha']", "make", "wait", "promote ['Bravo']"),
        *("wait", "promote ['Charlie']"),
    ]
    assert results.trained == ["Alpha", "Bravo", "Charlie"] and not results.failures
    runs = MlflowClient().search_runs([experiment_id()], "tags.`tempcast.kind` = 'train'")
    assert sorted(run.info.run_name for run in runs) == ["Alpha", "Bravo", "Charlie"]
    assert [d.reason for d in results.decisions.values()] == ["promoted: no champion yet"] * 3
    for name in names:
        champion = MlflowClient().get_model_version_by_alias(model_name(name), "champion")
        assert str(champion.version) == results.tracked[name].model_version == "1"
