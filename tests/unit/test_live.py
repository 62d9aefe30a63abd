"""Live accuracy on a hand-made forecast history: what is scored, once, and the window's record
with numbers worked out by hand."""

import logging
from statistics import NormalDist

import numpy as np
import pandas as pd
import pytest

import tasks.publish.history as history
from tasks.data.months import month_range
from tasks.model.uncertainty import LEVELS, QUANTILE_COLUMNS, SCORED_LEVELS
from tasks.publish.charts import live_mae_html, live_mae_png
from tasks.publish.history import observed_values
from tasks.publish.live import COVERAGE_TAG, score_live_forecasts, summarise, window_of
from tests.support.forecasts import with_distribution

RUN = "0123456789abcdef0123456789abcdef"


def published(location: str, as_of: str, version: int, forecast: list[float], climatology):
    """Rows of one published forecast, from the month after as_of."""
    months = month_range(pd.Period(as_of, freq="M") + 1, pd.Period(as_of, freq="M") + len(forecast))
    return pd.DataFrame(
        {
            "location": location,
            "as_of": as_of,
            "month": months,
            "lead": np.arange(1, len(months) + 1),
            "forecast": forecast,
            "climatology": climatology,
            "model_name": f"tempcast-{location.lower()}",
            "model_version": version,
            "run_id": RUN,
            "published_at": pd.Timestamp("2014-01-01", tz="UTC"),
        }
    )


def truth(values: dict[str, dict[str, float]], through: str) -> pd.DataFrame:
    """A raw monthly table (NaN where not observed) from 2012-12 to `through`."""
    table = pd.DataFrame(values).T.reindex(columns=month_range("2012-12", through))
    return table.rename_axis("Location")


@pytest.fixture
def uri(tmp_path) -> str:
    """A history: Alpha from 2012-12 (v1, one month), 2013-12 (v1) and 2014-01 (v2, now its
    champion); Bravo from 2013-12 (v1)."""
    location = f"sqlite:///{tmp_path / 'forecasts.db'}"
    frames = [
        published("Alpha", "2012-12", 1, [10.0], [9.0]),
        published("Alpha", "2013-12", 1, [10.0, 11.0, 12.0], [9.0, 10.0, 11.0]),
        published("Alpha", "2014-01", 2, [10.0, 11.0, 12.0], [9.0, 10.0, 11.0]),
        published("Bravo", "2013-12", 1, [10.0, 11.0, 12.0], [9.0, 10.0, 11.0]),
    ]
    history.append_forecasts(location, pd.concat(frames, ignore_index=True))
    return location


OBSERVED = {
    "Alpha": {"2013-01": 10.0, "2014-01": 10.5, "2014-02": 9.0, "2014-03": 12.0},
    "Bravo": {"2014-02": 10.8, "2014-03": 11.0},  # 2014-01 not observed
}


def test_only_observed_months_of_unscored_forecasts_get_an_actual_value(uri):
    unscored = history.read_forecasts(uri, through="2014-02", scored=False)
    actual = observed_values(unscored, truth(OBSERVED, "2014-02"))
    stored = unscored.set_index("id").loc[actual["forecast_id"]]
    assert list(zip(stored["location"], stored["month"], actual["actual"], strict=True)) == [
        ("Alpha", "2013-01", 10.0),
        ("Alpha", "2014-01", 10.5),
        ("Alpha", "2014-02", 9.0),
        ("Alpha", "2014-02", 9.0),
        ("Bravo", "2014-02", 10.8),
    ]


def test_the_live_record_over_the_window_with_numbers_by_hand(uri):
    assert window_of("2014-02") == month_range("2013-03", "2014-02")
    live = score_live_forecasts.fn(uri, truth(OBSERVED, "2014-02"), "2014-02")
    assert live.scored_now == {"2012-12": 1, "2013-12": 3, "2014-01": 1}
    assert len(live.scored) == 5 and len(live.recent) == 4  # 2013-01 is before the window
    # forecast - actual: Alpha v1 2014-01 0.5, 2014-02 2.0; Alpha v2 2014-02 1.0; Bravo 0.2
    # climatology - actual:               1.5,         1.0;                  0.0;       0.8
    metrics = live.metrics()
    assert metrics["live_mae"] == pytest.approx(3.7 / 4)
    assert metrics["live_climatology_mae"] == pytest.approx(3.3 / 4)
    assert metrics["live_skill"] == pytest.approx(1 - 3.7 / 3.3)
    assert metrics["live_forecasts_in_window"] == 4 and metrics["live_forecasts_scored"] == 5
    by_lead = live.by_location_lead().set_index(["location", "lead"])
    assert by_lead.loc[("Alpha", 1), "forecasts"] == 2  # 2014-01 from v1, 2014-02 from v2
    assert by_lead.loc[("Alpha", 1), "live_mae"] == pytest.approx(0.75)
    assert by_lead.loc[("Alpha", 2), "live_climatology_mae"] == pytest.approx(1.0)
    champions = live.champion_records().set_index("location")
    assert champions["model_version"].to_dict() == {"Alpha": 2, "Bravo": 1}
    assert champions["worse"].to_dict() == {"Alpha": True, "Bravo": False}
    assert live.worse() == ["Alpha (tempcast-alpha version 2: 1.000 vs 0.000 °C over 1 forecasts)"]
    assert "1 champion(s) worse than climatology" in live.lines()[-1]
    assert live.report()["window"] == "2013-03..2014-02"

    again = score_live_forecasts.fn(uri, truth(OBSERVED, "2014-02"), "2014-02")
    assert again.scored_now == live.scored_now and again.metrics() == metrics
    assert history.read_forecasts(uri, scored=True)["scored_as_of"].unique().tolist() == ["2014-02"]

    later = score_live_forecasts.fn(uri, truth(OBSERVED, "2014-03"), "2014-03")
    assert later.scored_now == {"2013-12": 2, "2014-01": 1}  # 2014-03, from all three
    assert history.read_forecasts(uri, location="Bravo", scored=False)["month"].tolist() == [
        "2014-01"
    ]


def test_with_nothing_published_yet_there_is_no_record(tmp_path):
    live = score_live_forecasts.fn(
        f"sqlite:///{tmp_path / 'empty.db'}", truth(OBSERVED, "2014-02"), "2014-02"
    )
    assert live.scored_now == {} and live.metrics() == {} and live.worse() == []
    assert live.lines() == ["live accuracy: 0 forecasts scored as of 2014-02"]


def test_the_chart_shows_mae_by_lead_and_by_month_beside_climatology(uri):
    live = score_live_forecasts.fn(uri, truth(OBSERVED, "2014-03"), "2014-03")
    by_lead, by_month = summarise(live.recent, ["lead"]), summarise(live.scored, ["month"])
    figure = live_mae_html(by_lead, by_month, "live")
    assert [(t.name, len(t.x)) for t in figure.data] == [
        ("published forecasts", 3),
        ("published forecasts", 4),
        ("climatology at their as_of", 3),
        ("climatology at their as_of", 4),
    ]
    assert len(live_mae_png(by_lead, by_month, "live").axes) == 2


def with_spread(frame: pd.DataFrame, spread: float | None) -> pd.DataFrame:
    """Published rows with Gaussian quantiles of standard deviation `spread` around the forecast
    (none when None), a 60% chance of a month above its median, the median climatology's."""
    if spread is None:
        return frame
    return with_distribution(frame, spread).assign(median=frame["climatology"], base_rate=0.5)


@pytest.fixture
def uri_with_quantiles(tmp_path) -> str:
    """The same forecasts as `uri`, with distributions: Alpha's old 2012-12 forecast without,
    its v1 and Bravo's with a spread of 1 °C, Alpha's champion v2 a far too sure 0.1 °C."""
    location = f"sqlite:///{tmp_path / 'forecasts.db'}"
    frames = [
        with_spread(published("Alpha", "2012-12", 1, [10.0], [9.0]), None),
        with_spread(published("Alpha", "2013-12", 1, [10.0, 11.0, 12.0], [9.0, 10.0, 11.0]), 1.0),
        with_spread(published("Alpha", "2014-01", 2, [10.0, 11.0, 12.0], [9.0, 10.0, 11.0]), 0.1),
        with_spread(published("Bravo", "2013-12", 1, [10.0, 11.0, 12.0], [9.0, 10.0, 11.0]), 1.0),
    ]
    history.append_forecasts(location, pd.concat(frames, ignore_index=True))
    return location


def pinball_score(rows: pd.DataFrame) -> float:
    """Twice the mean pinball loss over the scored levels, by its definition."""
    levels = dict(zip(LEVELS, QUANTILE_COLUMNS, strict=True))
    losses = [
        np.mean(((rows["actual"] < rows[levels[tau]]) - tau) * (rows[levels[tau]] - rows["actual"]))
        for tau in SCORED_LEVELS
    ]
    return 2 * float(np.mean(losses))


def test_live_coverage_and_quantile_score_name_a_champion_whose_intervals_miss(
    uri_with_quantiles, caplog
):
    with caplog.at_level(logging.WARNING, logger="tempcast"):
        live = score_live_forecasts.fn(uri_with_quantiles, truth(OBSERVED, "2014-03"), "2014-03")
    # in the window (2013-04..2014-03), |forecast - actual| / spread:
    # Alpha v1 0.5, 2.0, 0.0; Alpha v2 (champion) 10, 10; Bravo 0.2, 1.0
    z = {level: NormalDist().inv_cdf(0.5 + level / 200) for level in (50, 80, 90)}
    assert [round(v, 3) for v in z.values()] == [0.674, 1.282, 1.645]
    metrics = live.metrics()
    assert metrics["live_forecasts_with_quantiles"] == 7 == metrics["live_forecasts_in_window"]
    assert metrics["live_coverage_50"] == pytest.approx(3 / 7)  # 0.5, 0.0, 0.2
    assert metrics["live_coverage_80"] == pytest.approx(4 / 7)  # and 1.0 (twice)
    assert metrics["live_coverage_90"] == pytest.approx(4 / 7)
    assert metrics["live_quantile_score"] == pytest.approx(pinball_score(live.recent), rel=1e-9)
    above = (live.recent["actual"] > live.recent["climatology"]).astype(float)
    assert metrics["live_brier"] == pytest.approx(float(np.mean((0.6 - above) ** 2)))
    assert metrics["live_climatology_brier"] == pytest.approx(0.25)

    champions = live.champion_records().set_index("location")
    assert champions["live_coverage_80"].to_dict() == {"Alpha": 0.0, "Bravo": 1.0}
    assert champions["low_coverage"].to_dict() == {"Alpha": True, "Bravo": False}
    named = "Alpha (tempcast-alpha version 2: 80% intervals held 0% of 2 months)"
    assert live.low_coverage() == [named]
    assert live.report()["coverage_80_below_65"] == [named]
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(named in line and "below 65%" in line for line in warned), warned
    assert any(
        line.startswith("live intervals over the window: 7 forecasts") for line in live.lines()
    )
    assert COVERAGE_TAG == "tempcast.live_coverage_below_65"

    by_lead = live.by_location_lead().set_index(["location", "lead"])
    assert by_lead.loc[("Alpha", 1), "live_coverage_80"] == 0.5  # v1 inside, v2 outside
    assert by_lead.loc[("Bravo", 3), "live_coverage_50"] == 0.0
    lead_rows = live.recent[(live.recent["location"] == "Alpha") & (live.recent["lead"] == 2)]
    assert by_lead.loc[("Alpha", 2), "live_quantile_score"] == pytest.approx(
        pinball_score(lead_rows), rel=1e-9
    )
    by_month = summarise(live.scored, ["month"]).set_index("month")
    assert by_month.loc["2013-01", "forecasts_with_quantiles"] == 0  # stored without them
    assert np.isnan(by_month.loc["2013-01", "live_coverage_80"])
    assert by_month.loc["2013-01", "live_mae"] == 0.0


def test_without_quantiles_there_is_no_coverage_and_no_warning(uri):
    live = score_live_forecasts.fn(uri, truth(OBSERVED, "2014-03"), "2014-03")
    assert "live_coverage_80" not in live.metrics() and live.low_coverage() == []
    assert not live.champion_records()["low_coverage"].any()
