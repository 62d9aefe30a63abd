"""Tracking in chunks: each chunk's models are built around its own copy of the shared networks
(Keras records every model built around a network in it), so memory stays bounded."""

import numpy as np

from tasks.model.evaluation import forecast_from
from tasks.model.settings import training_config
from tasks.pipeline.units import fit_units, with_network_copies
from tests.support.tiny import TINY_TRAINING, prepared_table, series_of


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
