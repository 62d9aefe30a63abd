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


def test_speed_benchmark_compares_both_recipes_on_tiny_data(
    tmp_path, session_prefect_api, monkeypatch
):
    monkeypatch.delenv("TF_CPP_MIN_LOG_LEVEL")  # as a user's shell has it
    common = tiny_options(tmp_path, ("Alpha", "Bravo"))
    result = compare(tmp_path / "runs", ["Alpha"], common, ["--epochs", "1"])
    assert result["locations"] == 2
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
    for command, locations in (("default", 2), ("article", 1)):
        output = (tmp_path / "runs" / command / "command.log").read_text()
        assert not STARTUP_NOISE.search(output), STARTUP_NOISE.search(output)
        assert f"tracking: {locations} of {locations} locations done" in output
        assert f"{locations} of {locations} locations trained and tracked" in output
        assert "Downloading artifacts" not in output


def test_backtest_benchmark_scores_every_forecaster_on_the_same_months(
    tmp_path, session_prefect_api
):
    from benchmarks.backtest import FORECASTERS, PEERS, backtest, format_table

    options = tiny_options(tmp_path, ("Alpha", "Bravo"))
    result = backtest(tmp_path / "run", "2013-05", "2013-06", options)
    assert (result["origins"], result["locations"], result["months_scored"]) == (2, 2, 24)
    assert result["backfill_seconds"] > 0 and result["backfill_seconds_before"] == 2880
    assert result["repeated_rows"] == 0
    assert set(result["forecasters"]) == set(FORECASTERS)
    for name, groups in result["forecasters"].items():
        assert groups["overall"]["months"] == 24 and groups["steps_13_18"]["months"] == 0
        assert 0 < groups["overall"]["mae"] < 5 and 0 < groups["steps_1_3"]["mae"] < 5
        assert math.isnan(groups["steps_13_18"]["mae"])  # a tiny horizon of 6 months
        if name in PEERS or name == "default_recipe":
            overall = groups["overall"]
            assert 0 <= overall["coverage_50"] <= overall["coverage_95"] <= 1
            assert 0 < overall["quantile_score"] < overall["mae"]
            assert overall["quantile_score_99"] > 0 and 0 <= overall["brier"] <= 1
    assert "harmonic_conformal" in format_table(result)


def backtest_rows(keys: list[tuple[str, str]], steps: int) -> pd.DataFrame:
    """The key columns of a backtest's rows: every step of each (as_of, location)."""
    return pd.DataFrame(
        [(as_of, location, step) for as_of, location in keys for step in range(1, steps + 1)],
        columns=["as_of", "location", "step"],
    )


def test_the_backtest_refuses_a_peer_without_a_forecast_for_a_row_of_the_model():
    from benchmarks.backtest import aligned
    from tasks.errors import TempcastError

    rows = backtest_rows([("2013-05", "Alpha"), ("2013-05", "Bravo"), ("2013-06", "Alpha")], 3)
    peers = backtest_rows([("2013-05", "Alpha"), ("2013-06", "Alpha")], 3)
    peers = peers.assign(forecaster="auto_ets", point=1.0)
    with pytest.raises(TempcastError, match=r"auto_ets .*origin 2013-05, location Bravo, step 1"):
        aligned(rows, peers, "auto_ets", ["as_of", "location", "step", "point"])
    present = rows.assign(forecaster="auto_ets", point=1.0)
    assert len(aligned(rows, present, "auto_ets", ["as_of", "location", "step", "point"])) == 9
    repeated = pd.concat([rows, rows.head(3)])  # two origins whose data end in the same month
    assert len(aligned(repeated, present, "auto_ets", ["as_of", "location", "step", "point"])) == 12
    present.loc[7, "point"] = float("nan")  # a forecast without a value is missing too
    with pytest.raises(TempcastError, match=r"origin 2013-06, location Alpha, step 2 \(1 row"):
        aligned(rows, present, "auto_ets", ["as_of", "location", "step", "point"])


def test_every_peer_gives_finite_ordered_quantiles_and_a_chance_above_the_median():
    import numpy as np

    from benchmarks.peers import DENSE_COLUMNS, distribution_columns, peer_distributions
    from tasks.data.locations import LocationSeries
    from tasks.data.months import month_range
    from tasks.model.uncertainty import QUANTILE_COLUMNS

    rng = np.random.default_rng(1)
    months = month_range("2009-01", "2013-12")
    values = 15 + 8 * np.cos(2 * np.pi * np.arange(60) / 12) + rng.normal(0, 0.8, 60)
    peers = peer_distributions(LocationSeries("Alpha", values, months), 18)
    assert set(peers) == {
        "auto_ets", "harmonic_conformal", "climatology_gaussian", "harmonic_gaussian"
    }  # fmt: skip
    for name, peer in peers.items():
        columns = distribution_columns(peer, np.full(18, 15.0))
        for levels in (QUANTILE_COLUMNS, DENSE_COLUMNS):
            quantiles = np.column_stack([columns[c] for c in levels])
            assert np.isfinite(quantiles).all(), name
            assert (np.diff(quantiles, axis=1) >= -1e-9).all(), name
        assert np.allclose(columns["q50"], columns["point"]), name
        assert ((columns["p_above_median"] >= 0) & (columns["p_above_median"] <= 1)).all()


def test_the_conformal_peer_takes_its_intervals_and_chances_from_its_errors():
    import numpy as np

    from benchmarks.peers import Symmetric

    peer = Symmetric(point=np.array([10.0, 20.0]), errors=np.array([0.0, 1.0, 2.0, 3.0, 4.0]))
    # the 50% central interval is ± the median absolute error, the 100% one ± the largest
    assert peer.quantiles(np.array([0.25, 0.5, 0.75, 1.0])).tolist() == [
        [8.0, 10.0, 12.0, 14.0],
        [18.0, 20.0, 22.0, 24.0],
    ]
    # of the ten signed errors (0, ±1..±4, -0), 10 + e > 11.5 for 2 and 3 and 4: 3 in 10
    assert peer.p_above(np.array([11.5, 20.0])).tolist() == [0.3, 0.4]


def test_the_default_recipes_dense_quantiles_are_rebuilt_from_its_published_ones():
    import numpy as np

    from benchmarks.backtest import rebuilt_dense
    from benchmarks.peers import DENSE_LEVELS
    from tasks.model.uncertainty import LocationSpread, Spread, distribution

    widths = np.array([0.7, 1.3, 1.7, 2.0, 2.0 * 2.326348 / 1.959964])  # 98%: Gaussian-shaped
    spread = Spread(widths, 100, "")
    forecast = np.array([12.0, 20.0])
    made = distribution(spread, LocationSpread(0.8, np.zeros(12), 0.5), forecast, np.array([0, 1]))
    published = pd.DataFrame(made.columns())
    levels, standard = spread.table()
    expected = forecast[:, None] + 0.8 * np.interp(DENSE_LEVELS, levels, standard)[None, :]
    assert rebuilt_dense(published) == pytest.approx(expected, abs=1e-5)


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
