"""The promotion rule on small cases: first version, the same settings on fresher data, other
settings judged on the same months, non-finite challengers, unknown champion settings."""

import math

import pytest

from tasks.pipeline.promotion import SettingsScore, decide
from tasks.tracking.registry import Champion

METRICS = {"test_mae": 1.0, "test_rmse": 1.2, "train_mae": 0.8, "baseline_climatology_mae": 1.1}
SAME, OTHER = "settings-a", "settings-b"


def champion(settings: str = SAME) -> Champion:
    return Champion("3", "run", {"settings_digest": settings, "as_of": "2015-06"})


@pytest.mark.parametrize(
    ("metrics", "current", "score", "promoted", "reason"),
    [
        (METRICS, None, None, True, "promoted: no champion yet"),
        (METRICS, champion(), None, True, "promoted: the settings of champion v3, on fresher"),
        (
            {**METRICS, "test_mae": 1.3},  # fresher, but clearly worse than climatology (1.1)
            champion(),
            None,
            False,
            "kept champion v3: test MAE 1.3000 is clearly worse than climatology's 1.1000",
        ),
        (
            {**METRICS, "test_mae": 1.2},  # within the margin of climatology: fresher data wins
            champion(),
            None,
            True,
            "promoted: the settings of champion v3",
        ),
        (
            METRICS,
            champion(OTHER),
            SettingsScore("3", 1.5),
            True,
            "promoted: test MAE 1.0000 < 1.5000 of champion v3's settings on the same months",
        ),
        (
            METRICS,
            champion(OTHER),
            SettingsScore("3", 0.9),
            False,
            "kept champion v3: test MAE 1.0000 >= 0.9000 of its settings on the same months",
        ),
        (
            {**METRICS, "test_quantile_score": 0.70},  # a worse MAE, a better distribution
            champion(OTHER),
            SettingsScore("3", 0.9, quantile_score=0.75),
            True,
            "promoted: quantile score 0.7000 < 0.7500 of champion v3's settings on the same",
        ),
        (
            {**METRICS, "test_quantile_score": 0.80},  # a better MAE, a worse distribution
            champion(OTHER),
            SettingsScore("3", 1.5, quantile_score=0.75),
            False,
            "kept champion v3: quantile score 0.8000 >= 0.7500 of its settings on the same",
        ),
        (
            {**METRICS, "test_quantile_score": 0.70},  # champion settings without quantiles: MAE
            champion(OTHER),
            SettingsScore("3", 0.9),
            False,
            "kept champion v3: test MAE 1.0000 >= 0.9000",
        ),
        (
            {"train_mae": 0.8},  # other settings without a test window cannot earn promotion
            champion(OTHER),
            SettingsScore("3", 0.9),
            False,
            "kept champion v3: other settings, and no test window",
        ),
        (
            METRICS,
            champion(OTHER),
            SettingsScore("3", None, "its settings are not recorded"),
            True,
            "promoted: champion v3's settings cannot be evaluated (its settings are not recorded)",
        ),
    ],
)
def test_the_promotion_rule(metrics, current, score, promoted, reason):
    decided, why = decide(metrics, SAME, current, score)
    assert decided is promoted and why.startswith(reason), why


@pytest.mark.parametrize("bad", ["test_mae", "train_mae"])
def test_a_model_with_non_finite_metrics_is_never_promoted(bad):
    for current in (None, champion(), champion(OTHER)):
        assert decide({**METRICS, bad: math.nan}, SAME, current, SettingsScore("3", 5.0)) == (
            False,
            f"not promoted: non-finite metrics ({bad})",
        )
