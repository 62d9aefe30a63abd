"""The forecast history database on sqlite: schema on first use, the rows' contract, idempotent
appends, scores, queries and the printed forms."""

import json
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pytest

import tasks.publish.history as history
from tasks.errors import InfrastructureError, TempcastError
from tasks.publish.forecasts import history_rows

RUN = "0123456789abcdef0123456789abcdef"
PUBLISHED = pd.Timestamp("2014-01-02 03:00", tz="UTC")


def rows(as_of: str = "2013-12", version: int = 1, months: int = 3, location: str = "Alpha"):
    """Forecast history rows of one location, as_of and version: forecast 10, 11, 12..."""
    targets = pd.period_range(pd.Period(as_of, freq="M") + 1, periods=months, freq="M")
    return pd.DataFrame(
        {
            "location": location,
            "as_of": as_of,
            "month": [str(m) for m in targets],
            "lead": np.arange(1, months + 1),
            "forecast": 10.0 + np.arange(months),
            "climatology": 9.0 + np.arange(months),
            "model_name": f"tempcast-{location.lower()}",
            "model_version": version,
            "run_id": RUN,
            "published_at": PUBLISHED,
        }
    )


@pytest.fixture
def uri(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'forecasts.db'}"


def test_appends_create_the_schema_and_add_each_row_once(uri, tmp_path):
    assert not history.history_exists(uri) and not (tmp_path / "forecasts.db").exists()
    assert history.append_forecasts(uri, rows()) == 3
    assert history.history_exists(uri)
    assert history.append_forecasts(uri, rows()) == 0  # a repeated retrain
    more = pd.concat([rows(months=5), rows(version=2), rows(location="Bravo")], ignore_index=True)
    assert history.append_forecasts(uri, more) == 2 + 3 + 3
    stored = history.read_forecasts(uri)
    assert len(stored) == 11 and not stored.duplicated(history.FORECAST_KEY).any()
    first = stored.iloc[0]
    assert (first["location"], first["as_of"], first["month"], first["lead"]) == (
        "Alpha",
        "2013-12",
        "2014-01",
        1,
    )
    assert first["published_at"] == PUBLISHED and first["run_id"] == RUN
    assert stored["actual"].isna().all()


def test_without_on_conflict_the_same_rows_are_still_added_once(uri, monkeypatch):
    monkeypatch.setattr(history, "INSERT_IGNORING", {})  # a dialect without ON CONFLICT
    assert history.append_forecasts(uri, rows()) == 3
    assert history.append_forecasts(uri, rows(months=4)) == 1
    assert len(history.read_forecasts(uri)) == 4


def test_rows_that_break_the_contract_are_refused_and_nothing_is_written(uri):
    bad = rows()
    bad.loc[1, "forecast"] = np.inf
    bad.loc[2, "run_id"] = "not-a-run"
    with pytest.raises(pa.errors.SchemaErrors) as caught:
        history.append_forecasts(uri, pd.concat([bad, rows().iloc[:1]], ignore_index=True))
    failed = set(caught.value.failure_cases["check"].astype(str))
    assert any("finite" in check for check in failed), failed
    assert any("str_matches" in check for check in failed), failed
    assert "multiple_fields_uniqueness" in failed, failed
    assert not history.history_exists(uri)


def test_a_missing_climatology_is_stored_as_null(uri):
    frame = rows()
    frame.loc[0, "climatology"] = np.nan
    history.append_forecasts(uri, frame)
    assert history.read_forecasts(uri)["climatology"].isna().tolist() == [True, False, False]


def test_scores_are_stored_once_and_queries_filter_them(uri):
    history.append_forecasts(uri, pd.concat([rows(), rows(location="Bravo")], ignore_index=True))
    due = history.read_forecasts(uri, through="2014-02", scored=False)
    assert due["month"].tolist() == ["2014-01", "2014-02"] * 2
    actual = pd.DataFrame({"forecast_id": due["id"], "actual": [10.5, 10.0, 11.0, 12.0]})
    scored_at = datetime(2014, 3, 2, tzinfo=UTC)
    assert history.append_scores(uri, actual, "2014-02", scored_at) == 4
    assert history.append_scores(uri, actual, "2014-02", scored_at) == 0
    assert history.read_forecasts(uri, through="2014-02", scored=False).empty
    alpha = history.with_errors(history.read_forecasts(uri, location="aLPHA", scored=True))
    assert alpha["actual"].tolist() == [10.5, 10.0]
    assert alpha["error"].tolist() == [-0.5, 1.0]
    assert alpha["climatology_abs_error"].tolist() == [1.5, 0.0]
    assert (alpha["scored_as_of"] == "2014-02").all()
    assert (alpha["scored_at"] == pd.Timestamp(scored_at)).all()
    assert len(history.read_forecasts(uri, scored_as_of="2014-02")) == 4
    assert history.read_forecasts(uri, month="2014-03")["location"].tolist() == ["Alpha", "Bravo"]
    assert len(history.read_forecasts(uri, as_of="2014-01")) == 0


def test_the_latest_version_per_location_is_the_one_of_its_newest_as_of(uri):
    frames = [rows("2013-12", 1), rows("2014-01", 2), rows("2014-01", 3, location="Bravo")]
    history.append_forecasts(uri, pd.concat(frames, ignore_index=True))
    history.append_forecasts(uri, rows("2013-11", 4))  # an older as_of, published later
    latest = history.latest_versions(uri)
    assert latest.values.tolist() == [
        ["Alpha", "tempcast-alpha", 2],
        ["Bravo", "tempcast-bravo", 3],
    ]
    before = history.latest_versions(uri, before="2014-01")
    assert before.values.tolist() == [["Alpha", "tempcast-alpha", 1]]


def test_asking_the_history_names_what_is_wrong(uri, tmp_path):
    with pytest.raises(TempcastError, match=r"^no forecast history at sqlite:///.+ yet"):
        history.forecast_history(uri)
    assert not (tmp_path / "forecasts.db").exists()  # asking created nothing
    history.append_forecasts(uri, rows())
    with pytest.raises(TempcastError, match=r"no stored forecast for location 'Bravo'.+: Alpha"):
        history.forecast_history(uri, location="Bravo")
    with pytest.raises(TempcastError, match=r"--month '2014-1' is not a month"):
        history.forecast_history(uri, month="2014-1")
    with pytest.raises(TempcastError, match=r"is not a database URL"):
        history.forecast_history("no url")
    with pytest.raises(TempcastError, match=r"tempcast\[postgres\]"):
        history.read_forecasts("postgresql+nosuchdriver://u@127.0.0.1/db")
    with pytest.raises(InfrastructureError, match=r"^forecast history at sqlite:///.+ failed: "):
        history.read_forecasts(f"sqlite:///{tmp_path / 'no' / 'such' / 'folder.db'}")


def test_the_printed_forms(uri):
    history.append_forecasts(uri, rows())
    frame = history.forecast_history(uri, as_of="2013-12")
    table = history.format_history(frame, "table")
    assert table.splitlines()[0].split() == history.TABLE_COLUMNS
    assert table.splitlines()[-1] == "3 forecasts, 0 scored against the observed month"
    records = json.loads(history.format_history(frame, "json"))
    assert len(records) == 3 and records[0]["actual"] is None
    assert records[0]["run_id"] == RUN and records[0]["published_at"].startswith("2014-01-02T03")
    csv = history.format_history(frame, "csv").splitlines()
    assert csv[0].startswith("id,location,as_of,model_version,month,lead,forecast")
    assert len(csv) == 4
    empty = history.forecast_history(uri, month="2015-01")
    assert history.format_history(empty, "table") == "no stored forecast matches"


def test_history_rows_carry_lead_climatology_and_the_run_of_each_version():
    table = pd.DataFrame(
        [np.arange(24, dtype=float)],
        index=pd.Index(["Alpha"], name="Location"),
        columns=[str(m) for m in pd.period_range("2012-01", "2013-12", freq="M")],
    )
    forecasts = pd.DataFrame(
        {
            "location": "Alpha",
            "month": ["2014-01", "2014-02", "2014-03"],
            "forecast": [1.0, 2.0, 3.0],
            "as_of": "2013-12",
            "model_version": "2",
        }
    )
    made = history_rows(forecasts, table, {("Alpha", "2"): RUN}, PUBLISHED)
    assert made["lead"].tolist() == [1, 2, 3]
    assert made["climatology"].tolist() == [6.0, 7.0, 8.0]  # mean of Jan 2012 (0), Jan 2013 (12)
    assert made["model_name"].unique().tolist() == ["tempcast-alpha"]
    assert made["model_version"].tolist() == [2, 2, 2] and made["run_id"].unique().tolist() == [RUN]
    history.PublishedForecasts.validate(made)
