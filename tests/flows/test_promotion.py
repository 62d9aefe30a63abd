"""Promotion against a real registry: aliases and tags follow the decisions, a champion that
trained on the challenger's test months is never re-scored there, two promotions at once keep
the better settings, and champion settings are evaluated on the same months."""

import json
from concurrent.futures import ThreadPoolExecutor

import numpy as np
from mlflow.tracking import MlflowClient

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


def test_a_champion_that_saw_the_test_months_is_judged_by_its_settings_not_its_model(
    tracking_store,
):
    (series,) = series_of(prepared_table(("Alpha",), months=48))
    parent = start_parent_run.fn("test", {}, {})
    actual = float(series.values[-HORIZON:].mean())
    champion = register(series, actual, 2.0, parent, "A")  # fit on every month: near perfect
    promote_location.fn(champion, "A", series, HORIZON, None)
    challenger = register(series, actual + 3, 1.0, parent, "B")  # its evaluation fit: 1.0 °C
    decision = promote_location.fn(challenger, "B", series, HORIZON, SettingsScore("1", 1.4))
    assert decision.promoted and "1.0000 < 1.4000 of champion v1's settings" in decision.reason


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
