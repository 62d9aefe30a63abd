"""A tiny run of the benchmarks, so that they cannot rot (no timing is asserted)."""

import math
from pathlib import Path

import pandas as pd
import pytest

from benchmarks.speed import compare
from tests.support.cli_probe import STARTUP_NOISE
from tests.support.tiny import TINY_OPTIONS, observations_file


def tiny_options(folder: Path, locations: tuple[str, ...]) -> list[str]:
    """tempcast options for a tiny, fast run on synthetic observations of `locations`."""
    return ["--data", str(observations_file(folder, locations)), *TINY_OPTIONS]


def test_prepare_benchmark_runs_on_the_real_file(real_data):
    from benchmarks.prepare import run

    result = run(repeats=1)
    assert result["prepare_best_s"] > 0 and result["ingest_validate_best_s"] > 0


def test_speed_benchmark_compares_both_recipes_on_tiny_data(
    tmp_path, session_prefect_api, monkeypatch
):
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL")  # as a user's shell has it
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
    # its commands are real `tempcast` processes: quiet start-up, progress a person can follow
    for command, locations in (("default", 3), ("article", 2)):
        output = (tmp_path / "runs" / command / "command.log").read_text()
        assert not STARTUP_NOISE.search(output), STARTUP_NOISE.search(output)
        assert f"tracking: {locations} of {locations} locations done" in output
        assert f"{locations} of {locations} locations trained and tracked" in output
        assert "Downloading artifacts" not in output


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


def test_scale_benchmark_retrains_every_size_and_splits_the_time(tmp_path, session_prefect_api):
    from benchmarks.scale import STAGES, run

    data = observations_file(tmp_path, ("Alpha", "Bravo"))
    result = run((3,), TINY_OPTIONS, tmp_path / "runs", data=data)
    numbers = result["sizes"][3]
    assert numbers["locations_trained"] == 3 and numbers["peak_mib"] > 0
    assert set(numbers["stages_s"]) == set(STAGES)
    assert math.isclose(sum(numbers["stages_s"].values()), numbers["wall_s"], abs_tol=1.0)
    assert numbers["stages_s"]["training"] > 0 and numbers["stages_s"]["tracking"] > 0
    assert numbers["per_location_s"]["wall"] == pytest.approx(numbers["wall_s"] / 3, abs=0.05)
    assert set(result["side_by_side"]["wall_s"]) == {3}


def test_the_time_per_location_grows_from_the_second_largest_size_to_the_largest():
    from benchmarks.scale import growth_per_location

    def sized(wall: float, without: float) -> dict:
        return {"per_location_s": {"wall": wall, "without_start_up": without}}

    runs = {1000: sized(0.6, 0.5), 44: sized(2.0, 1.5), 250: sized(0.8, 0.5)}
    assert growth_per_location(runs) == {"wall": 0.75, "without_start_up": 1.0}


def test_synthetic_stations_are_shifted_copies_with_their_own_names():
    from benchmarks.scale import synthetic_observations
    from tests.support.synthetic import synthetic_observations as real_like

    real = real_like(("Alpha", "Bravo"), "2009-01-01", "2009-12-31")
    real["Date"] = pd.to_datetime(real["Date"])
    made = synthetic_observations(real, 5)
    assert sorted(made["Location"].unique()) == [
        "Alpha 1", "Alpha 3", "Alpha 5", "Bravo 2", "Bravo 4"
    ]  # fmt: skip
    assert len(made) == 5 * len(real) // 2 and (made["MinTemp"] <= made["MaxTemp"]).all()
    copies = made.groupby("Location")["MinTemp"].mean()
    assert copies["Alpha 1"] != copies["Alpha 3"]  # each copy has its own level
