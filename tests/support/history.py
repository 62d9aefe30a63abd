"""Three retrains into one forecast history on tiny data, and the live accuracy the last one must
report, worked out independently of the code under test: actual values straight from the
observations file, climatology from each retrain's monthly.csv, forecasts from its
forecasts.csv."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from flows.retrain import RetrainResult, retrain_flow
from tasks.publish.history import read_forecasts
from tests.support.tiny import observations_file, tiny_settings

# horizon 6: the second retrain sees the first's first 3 months, the third all the rest
AS_OFS = ("2013-12", "2014-03", "2014-12")
WINDOW = [f"2014-{month:02d}" for month in range(1, 13)]  # the third's last 12 target months


def three_retrains(folder: Path) -> list[RetrainResult]:
    """Retrain as of each of AS_OFS on five years of two locations, outputs in folder/AS_OF."""
    data = observations_file(folder, end="2014-12-31")
    return [retrain_flow(as_of=a, settings=tiny_settings(data, folder / a)) for a in AS_OFS]


def observed_means(data: Path) -> pd.Series:
    """Mean of (MinTemp + MaxTemp) / 2 per location and month of the observations file."""
    frame = pd.read_csv(data)
    middle = (frame["MinTemp"] + frame["MaxTemp"]) / 2
    return middle.groupby([frame["Location"], frame["Date"].str[:7]]).mean()


def published_by_hand(out: Path) -> pd.DataFrame:
    """A retrain's forecasts.csv, each row with the mean of its calendar month over that
    retrain's monthly.csv (what climatology knew at its as_of)."""
    forecasts = pd.read_csv(out / "forecasts.csv", dtype={"as_of": str, "month": str})
    monthly = pd.read_csv(out / "monthly.csv", index_col="Location")
    by_calendar = monthly.T.groupby(lambda month: month[5:]).mean()
    forecasts["climatology"] = [
        by_calendar.loc[month[5:], location]
        for location, month in zip(forecasts["location"], forecasts["month"], strict=True)
    ]
    return forecasts


def expected_live(folder: Path) -> dict:
    """What the third retrain must report: the forecasts it scores, by as_of, the window's live
    MAE and climatology MAE, and the champions worse than climatology."""
    observed = observed_means(folder / "obs.csv")
    rows = pd.concat([published_by_hand(folder / a) for a in AS_OFS[:2]], ignore_index=True)
    keys = zip(rows["location"], rows["month"], strict=True)
    rows["actual"] = [observed[key] for key in keys]
    rows["error"] = (rows["forecast"] - rows["actual"]).abs()
    rows["climatology_error"] = (rows["climatology"] - rows["actual"]).abs()
    now = rows[(rows["month"] > AS_OFS[1]) & (rows["month"] <= AS_OFS[2])]
    window = rows[rows["month"].isin(WINDOW)]
    champions = published_by_hand(folder / AS_OFS[1]).groupby("location")["model_version"].max()
    worse = []
    for location, version in champions.items():
        own = window[(window["location"] == location) & (window["model_version"] == version)]
        if own["error"].mean() > own["climatology_error"].mean():
            worse.append(location)
    return {
        "rows": rows,
        "scored_now": now.groupby("as_of").size().to_dict(),
        "live_mae": window["error"].mean(),
        "live_climatology_mae": window["climatology_error"].mean(),
        "forecasts_in_window": len(window),
        "worse": worse,
    }


def check_three_retrains(folder: Path, uri: str, results: list[RetrainResult]) -> dict:
    """Assert what three retrains left in the history and reported; returns the expected
    figures (for a line of output)."""
    expected = expected_live(folder)
    assert [r.live.scored_now for r in results[:2]] == [{}, {AS_OFS[0]: 2 * 3}]
    live = results[2].live
    assert live.scored_now == expected["scored_now"] == {AS_OFS[0]: 2 * 3, AS_OFS[1]: 2 * 6}
    metrics = live.metrics()
    assert metrics["live_mae"] == pytest.approx(expected["live_mae"], rel=1e-9)
    assert metrics["live_climatology_mae"] == pytest.approx(
        expected["live_climatology_mae"], rel=1e-9
    )
    assert metrics["live_forecasts_in_window"] == expected["forecasts_in_window"] == 24
    assert [name.split(" (")[0] for name in live.worse()] == expected["worse"]

    stored = read_forecasts(uri)
    assert len(stored) == 3 * 2 * 6
    assert not stored.duplicated(["location", "as_of", "model_version", "month"]).any()
    by_key = stored.set_index(["location", "as_of", "month"])
    hand = expected["rows"].set_index(["location", "as_of", "month"])
    np.testing.assert_allclose(by_key.loc[hand.index, "forecast"], hand["forecast"], rtol=1e-12)
    np.testing.assert_allclose(by_key.loc[hand.index, "climatology"], hand["climatology"])
    np.testing.assert_allclose(by_key.loc[hand.index, "actual"], hand["actual"], rtol=1e-9)
    client = MlflowClient()
    for row in stored.drop_duplicates(["model_name", "model_version"]).itertuples():
        assert row.run_id == client.get_model_version(row.model_name, row.model_version).run_id

    experiment = client.get_experiment_by_name("tempcast").experiment_id
    query = f"tags.`tempcast.kind` = 'retrain-parent' and tags.`tempcast.as_of` = '{AS_OFS[2]}'"
    (parent,) = client.search_runs([experiment], query)
    for name in ("live_mae", "live_climatology_mae", "live_skill"):
        assert parent.data.metrics[name] == pytest.approx(metrics[name], rel=1e-12)
    worse_tag = parent.data.tags["tempcast.live_worse_than_climatology"]
    assert worse_tag == ("; ".join(live.worse()) or "none")
    coverage_tag = parent.data.tags["tempcast.live_coverage_below_65"]
    assert coverage_tag == ("; ".join(live.low_coverage()) or "none")
    summary = pd.read_csv(folder / AS_OFS[2] / "live_accuracy.csv")
    assert summary["forecasts"].sum() == 24
    assert sorted(summary["lead"].unique()) == list(range(1, 7))
    return expected
