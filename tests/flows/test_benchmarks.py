"""A tiny run of the benchmarks, so that they cannot rot (no timing is asserted)."""

import math
from pathlib import Path

from benchmarks.speed import compare
from tests.support.tiny import TINY_OPTIONS, observations_file


def tiny_options(folder: Path, locations: tuple[str, ...]) -> list[str]:
    """tempcast options for a tiny, fast run on synthetic observations of `locations`."""
    return ["--data", str(observations_file(folder, locations)), *TINY_OPTIONS]


def test_prepare_benchmark_runs_on_the_real_file(real_data):
    from benchmarks.prepare import run

    result = run(repeats=1)
    assert result["prepare_best_s"] > 0 and result["ingest_validate_best_s"] > 0


def test_speed_benchmark_compares_both_recipes_on_tiny_data(tmp_path, session_prefect_api):
    common = tiny_options(tmp_path, ("Alpha", "Bravo", "Charlie"))
    result = compare(tmp_path / "runs", ["Alpha", "Bravo"], common, ["--epochs", "1"])
    assert result["locations"] == 3
    assert result["article_seconds_per_location"] > 0 and result["default_retrain_seconds"] > 0
    assert result["speedup"] > 0 and result["default_retrain_peak_mib"] > 0
    for block in (
        "default_all_locations",
        "default_on_article_locations",
        "article_on_its_locations",
    ):
        assert set(result[block]) == {
            "test_mae",
            "baseline_climatology_mae",
            "baseline_seasonal_naive_mae",
        }


def test_backtest_benchmark_scores_every_forecaster_on_the_same_months(
    tmp_path, session_prefect_api
):
    from benchmarks.backtest import FORECASTERS, backtest

    options = tiny_options(tmp_path, ("Alpha", "Bravo"))
    result = backtest(tmp_path / "run", "2013-05", "2013-06", options)
    assert (result["origins"], result["locations"], result["months_scored"]) == (2, 2, 24)
    assert set(result["forecasters"]) == set(FORECASTERS)
    for scores in result["forecasters"].values():
        assert 0 < scores["mae"] < 5 and 0 < scores["steps_1_3"] < 5
        assert math.isnan(scores["steps_13_18"])  # a tiny horizon of 6 months
