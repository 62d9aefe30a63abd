"""A tiny run of the benchmarks, so that they cannot rot (no timing is asserted)."""

from pathlib import Path

import pytest

from benchmarks.speed import compare
from tests.synthetic import synthetic_observations, write_observations


def tiny_options(folder: Path, locations: tuple[str, ...]) -> list[str]:
    """tempcast options for a tiny, fast run on synthetic observations of `locations`."""
    frame = synthetic_observations(locations, "2009-01-01", "2013-12-31")
    data = write_observations(frame, folder / "obs.csv")
    sizes = ["--timestep", "6", "--horizon", "6", "--units", "4", "--ensemble", "1"]
    return ["--data", str(data), *sizes, "--epochs", "1"]


@pytest.mark.data
def test_prepare_benchmark_runs_on_the_real_file():
    from benchmarks.prepare import run

    result = run(repeats=1)
    assert result["prepare_best_s"] > 0 and result["ingest_validate_best_s"] > 0


def test_speed_benchmark_compares_both_recipes_on_tiny_data(tmp_path):
    common = tiny_options(tmp_path, ("Alpha", "Bravo", "Charlie"))
    result = compare(tmp_path / "runs", ["Alpha", "Bravo"], common, [])
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


def test_backtest_benchmark_summarises_a_tiny_backfill(tmp_path):
    from benchmarks.backtest import backtest

    options = tiny_options(tmp_path, ("Alpha", "Bravo"))
    result = backtest(tmp_path / "run", "2013-05", "2013-06", options)
    assert (result["origins"], result["locations"]) == (2, 2)
    assert [row["step"] for row in result["by_step"]] == [1, 2, 3, 4, 5, 6]
    assert set(result["overall"]) == {
        "mae",
        "baseline_climatology_mae",
        "baseline_seasonal_naive_mae",
    }
