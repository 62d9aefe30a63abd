"""Promotion: the rule on small cases, and the aliases and tags it leaves in a real registry."""

import math

import keras
import numpy as np
import pytest
from mlflow.tracking import MlflowClient

from tasks.config import training_config
from tasks.datasets import location_data
from tasks.evaluation import evaluate_location
from tasks.model import IDENTITY, predict
from tasks.promotion import ChampionScore, decide, promote
from tasks.tracking import RunContext, log_location_run, start_parent_run
from tasks.training import TrainedModel
from tests.test_training import prepared_table

FINITE = {"test_mae": 1.0, "test_rmse": 1.2, "train_mae": 0.8}


@pytest.mark.parametrize(
    ("champion", "promoted", "reason"),
    [
        (None, True, "promoted: no champion yet"),
        (ChampionScore("3", 1.5), True, "promoted: holdout MAE 1.0000 < champion v3's 1.5000"),
        (
            ChampionScore("3", 0.5),
            False,
            "kept champion v3: holdout MAE 1.0000 >= champion's 0.5000",
        ),
        (
            ChampionScore("3", 1.0),
            False,
            "kept champion v3: holdout MAE 1.0000 >= champion's 1.0000",
        ),
        (ChampionScore("3", math.nan), True, "promoted: champion v3 cannot be scored"),
        (ChampionScore("3", None, "other shape"), True, "promoted: champion v3 cannot be scored"),
    ],
)
def test_the_promotion_rule(champion, promoted, reason):
    decided, why = decide(FINITE, champion)
    assert decided is promoted and why.startswith(reason)


@pytest.mark.parametrize("bad", ["test_mae", "train_mae"])
def test_a_model_with_non_finite_metrics_is_never_promoted(bad):
    assert decide({**FINITE, bad: math.nan}, None) == (
        False,
        f"not promoted: non-finite metrics ({bad})",
    )


def constant_model(value: float, timestep: int = 6, horizon: int = 6) -> keras.Model:
    """A model that forecasts `value` for every month, whatever its input."""
    inputs = keras.Input((timestep, 1))
    dense = keras.layers.Dense(
        horizon, kernel_initializer="zeros", bias_initializer=keras.initializers.Constant(value)
    )
    outputs = keras.layers.Reshape((horizon, 1))(dense(keras.layers.Flatten()(inputs)))
    return keras.Model(inputs, outputs)


def register(value: float, parent: str, data, context: RunContext):
    """Log and register a constant model for Alpha, as a retrain does."""
    model = constant_model(value)
    trained = TrainedModel("Alpha", model, {"loss": [1.0]}, 0.1, IDENTITY)
    evaluation = evaluate_location(
        data, predict(model, data.split.test.x)[-1], predict(model, data.split.train.x)
    )
    return log_location_run(parent, context, data, trained, evaluation)


def test_aliases_and_tags_follow_the_decisions(tracking_store):
    data = location_data(prepared_table(("Alpha",), months=48), "Alpha", 6, 6)
    actual = float(np.mean(data.split.test.y))
    context = RunContext(training_config("default"), "auto", data.as_of, "digest", "retrain")
    parent = start_parent_run("test", {}, {})
    client = MlflowClient()

    def step(value: float) -> tuple[bool, str, str, str]:
        tracked = register(value, parent, data, context)
        decision = promote.fn(data, tracked)
        aliases = {
            k: str(v) for k, v in client.get_registered_model("tempcast-alpha").aliases.items()
        }
        tag = client.get_model_version("tempcast-alpha", tracked.model_version).tags["promotion"]
        assert aliases["challenger"] == tracked.model_version
        return decision.promoted, aliases["champion"], tag, tracked.model_version

    assert step(actual + 5)[:2] == (True, "1")  # no champion yet
    promoted, champion, tag, _ = step(actual + 9)  # worse than v1
    assert (promoted, champion) == (False, "1") and tag.startswith("kept champion v1")
    assert step(actual + 5)[:2] == (False, "1")  # equal: the champion stays
    promoted, champion, tag, version = step(actual + 1)  # better
    assert (promoted, champion, version) == (True, "4", "4") and tag.startswith(
        "promoted: holdout MAE"
    )
    promoted, champion, tag, _ = step(math.nan)  # a broken model
    assert (promoted, champion) == (False, "4") and tag.startswith("not promoted: non-finite")


def test_two_promotions_at_once_keep_the_better_model(tracking_store):
    from concurrent.futures import ThreadPoolExecutor

    data = location_data(prepared_table(("Alpha",), months=48), "Alpha", 6, 6)
    actual = float(np.mean(data.split.test.y))
    context = RunContext(training_config("default"), "auto", data.as_of, "digest", "retrain")
    parent = start_parent_run("test", {}, {})
    better, worse = (
        register(actual + 1, parent, data, context),
        register(actual + 3, parent, data, context),
    )
    with ThreadPoolExecutor(2) as pool:
        decisions = list(pool.map(lambda tracked: promote.fn(data, tracked), [worse, better]))
    client = MlflowClient()
    assert (
        str(client.get_registered_model("tempcast-alpha").aliases["champion"])
        == better.model_version
    )
    assert sum(d.reason.startswith("promoted: no champion yet") for d in decisions) == 1
    assert client.search_registered_models(filter_string="name LIKE 'tempcast.lock%'") == []
