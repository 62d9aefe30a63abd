"""Promotion against a real registry: aliases and tags follow the decisions, a champion that
trained on the challenger's test months is never re-scored there, two promotions at once keep
the better settings, and champion settings are evaluated on the same months."""

import json
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from mlflow.tracking import MlflowClient

import tasks.pipeline.promotion as promotion_module
from tasks.data.locations import LocationSeries
from tasks.model.settings import RECIPES
from tasks.pipeline.promotion import SettingsScore, promote_location, score_champion_settings
from tasks.tracking.registry import SETTINGS_TAG, Champion
from tasks.tracking.runs import start_parent_run
from tests.support.registry import HORIZON, register
from tests.support.tiny import TINY_TRAINING, prepared_table, series_of


def test_aliases_and_tags_follow_the_decisions(tracking_store):
    (series,) = series_of(prepared_table(("Alpha",), months=48))
    parent = start_parent_run.fn("test", {}, {})
    client = MlflowClient()

    def step(value, test_mae, settings, score=None):
        tracked = register(series, value, test_mae, parent, settings)
        decision = promote_location.fn(tracked, settings, series, HORIZON, score)
        aliases = {
            k: str(v) for k, v in client.get_registered_model("tempcast-alpha").aliases.items()
        }
        tag = client.get_model_version("tempcast-alpha", tracked.model_version).tags["promotion"]
        assert aliases["challenger"] == tracked.model_version
        return decision.promoted, aliases["champion"], tag

    assert step(20.0, 1.0, "A")[:2] == (True, "1")  # no champion yet
    promoted, champion, tag = step(21.0, 1.5, "A")  # the same settings, fresher data
    assert (promoted, champion) == (True, "2") and "on fresher data" in tag
    promoted, champion, tag = step(22.0, 1.1, "B", SettingsScore("2", 0.8))  # a worse setting
    assert (promoted, champion) == (False, "2") and tag.startswith("kept champion v2")
    promoted, champion, tag = step(23.0, 0.7, "B", SettingsScore("2", 0.8))  # a better one
    assert (promoted, champion) == (True, "4")
    promoted, champion, tag = step(np.nan, np.nan, "B")  # a broken model
    assert (promoted, champion) == (False, "4") and tag.startswith("not promoted: non-finite")
    run = client.get_run(client.get_model_version("tempcast-alpha", "4").run_id)
    assert run.data.metrics["champion_settings_test_mae"] == 0.8


def smooth_climatology(values: np.ndarray, months: np.ndarray, harmonics: int = 2) -> np.ndarray:
    """A least-squares fit of a mean and `harmonics` annual harmonics to `values` (their
    calendar months 0-11 in `months`), valued at each of the 12 calendar months: the forecast of
    settings whose networks' correction is never used, written here independently."""

    def design(calendar: np.ndarray) -> np.ndarray:
        angle = 2 * np.pi * calendar[:, None] * np.arange(1, harmonics + 1) / 12
        return np.hstack([np.ones((len(calendar), 1)), np.cos(angle), np.sin(angle)])

    coefficients = np.linalg.lstsq(design(months.astype(float)), values, rcond=None)[0]
    return design(np.arange(12.0)) @ coefficients


def test_a_champion_that_trained_on_the_test_months_is_judged_by_its_settings_not_its_model(
    tracking_store, monkeypatch
):
    (plain,) = series_of(prepared_table(("Alpha",), months=48))
    values = plain.values.copy()
    values[-HORIZON:] += 2.0  # a warm test window: any look at it moves a score
    series = LocationSeries("Alpha", values, plain.months)
    origin, calendar = len(values) - HORIZON, np.arange(len(values)) % 12  # from 2009-01
    actual = values[origin:]
    # the champion's settings: the smooth climatology alone (no correction), derivable here
    settings = {**RECIPES["default"].model_dump(), **TINY_TRAINING.model_dump(exclude_none=True)}
    settings |= {"correction_months": 0, "epochs": 1}
    honest = smooth_climatology(values[:origin], calendar[:origin])[calendar[origin:]]
    leaky = smooth_climatology(values, calendar)[calendar[origin:]]  # fit on the test months too
    honest_mae, leaky_mae = np.abs(actual - honest).mean(), np.abs(actual - leaky).mean()
    assert leaky_mae < honest_mae - 0.1
    challenger_mae = (honest_mae + leaky_mae) / 2  # wins only against the honest score

    parent = start_parent_run.fn("test", {}, {})
    # the champion's model is the test window itself (MAE 0 there): it trained on those months
    champion = register(series, actual, 0.5, parent, "A", json.dumps(settings))
    assert promote_location.fn(champion, "A", series, HORIZON, None).promoted
    scored = []
    evaluate = promotion_module.evaluate_group

    def recorded_evaluation(fit, members):
        scored.extend((result := evaluate(fit, members)).values())
        return result

    monkeypatch.setattr(promotion_module, "evaluate_group", recorded_evaluation)
    challenger = register(series, 20.0, challenger_mae, parent, "B")
    decision = promote_location.fn(challenger, "B", series, HORIZON, None)

    (evaluation,) = scored  # the champion's settings, fit again, scored once
    assert evaluation.months == series.months[origin:]
    np.testing.assert_array_equal(evaluation.actual, actual)
    np.testing.assert_allclose(evaluation.forecast, honest, rtol=0, atol=1e-9)
    assert decision.promoted, decision.reason
    assert decision.reason == (
        f"promoted: test MAE {challenger_mae:.4f} < {honest_mae:.4f} of champion v1's settings"
        " on the same months"
    )
    run = MlflowClient().get_run(challenger.run_id)
    assert run.data.metrics["champion_settings_test_mae"] == pytest.approx(honest_mae, abs=1e-9)


def test_two_promotions_at_once_keep_the_better_settings(tracking_store):
    (series,) = series_of(prepared_table(("Alpha",), months=48))
    parent = start_parent_run.fn("test", {}, {})
    better = register(series, 20.0, 1.0, parent, "A")
    worse = register(series, 21.0, 1.5, parent, "B")
    scores = {"A": SettingsScore("1", 1.0), "B": SettingsScore("2", 1.5)}

    def promote(tracked, settings):
        other = "B" if settings == "A" else "A"  # each scores the other as the champion's
        return promote_location.fn(tracked, settings, series, HORIZON, scores[other])

    with ThreadPoolExecutor(2) as pool:
        decisions = list(pool.map(promote, [worse, better], ["B", "A"]))
    client = MlflowClient()
    champion = client.get_registered_model("tempcast-alpha").aliases["champion"]
    assert str(champion) == better.model_version, [d.reason for d in decisions]
    assert sum(d.reason.startswith("promoted: no champion yet") for d in decisions) == 1
    assert client.search_registered_models(filter_string="name LIKE 'tempcast.lock%'") == []


def test_champion_settings_are_evaluated_on_the_challengers_test_months():
    series = {s.location: s for s in series_of(prepared_table(("Alpha", "Bravo"), months=48))}
    recorded = {**RECIPES["default"].model_dump(), **TINY_TRAINING.model_dump(exclude_none=True)}
    champions = {
        "Alpha": Champion("4", "run", {SETTINGS_TAG: json.dumps(recorded)}),
        "Bravo": Champion("2", "run", {SETTINGS_TAG: "not json"}),
    }
    scores = score_champion_settings(series, champions, HORIZON)
    assert scores["Alpha"].version == "4" and 0 < scores["Alpha"].mae < 3
    assert 0 < scores["Alpha"].quantile_score < 3
    assert scores["Bravo"] == SettingsScore(
        "2", None, "its settings are not recorded in a form this version of tempcast reads"
    )


def test_each_version_says_at_a_glance_what_was_decided_and_why(tracking_store):
    (series,) = series_of(prepared_table(("Alpha",), months=48))
    parent = start_parent_run.fn("test", {}, {})
    first = register(series, 20.0, 1.0, parent, "A")
    promote_location.fn(first, "A", series, HORIZON, None)
    second = register(series, 21.0, 1.5, parent, "B")
    promote_location.fn(second, "B", series, HORIZON, SettingsScore("1", 0.8))
    client = MlflowClient()
    first_line, second_line = (
        client.get_model_version("tempcast-alpha", version).description for version in "12"
    )
    as_of = series.months[-1]
    assert first_line == (
        f"as_of {as_of} | test MAE 1.000 °C vs climatology 2.000 °C"
        " | promoted to champion (no champion yet)"
    )
    assert second_line == (
        f"as_of {as_of} | test MAE 1.500 °C vs climatology 2.000 °C | not promoted (kept"
        " champion v1: test MAE 1.5000 >= 0.8000 of its settings on the same months)"
    )
