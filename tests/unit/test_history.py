"""The forecast history database on sqlite: schema on first use, the rows' contract, idempotent
appends, scores, queries and the printed forms."""

import json
from datetime import UTC, datetime

import numpy as np
import pandas as pd
import pandera.pandas as pa
import pytest

import tasks.publish.history as history
from schemas.forecasts import DISTRIBUTION_COLUMNS, QUANTILE_COLUMNS
from tasks.errors import InfrastructureError, TempcastError
from tasks.model import uncertainty
from tasks.publish.forecasts import history_rows
from tests.support.forecasts import (
    PUBLISHED,
    RUN,
    check_migration,
    distributed,
    forecast_frame,
    stored_rows,
)

rows = stored_rows


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


def test_the_quantile_names_are_the_models():
    assert list(uncertainty.QUANTILE_COLUMNS) == QUANTILE_COLUMNS


def test_distributions_are_stored_and_crossing_quantiles_refused(uri):
    assert history.append_forecasts(uri, distributed(rows())) == 3
    stored = history.read_forecasts(uri)
    np.testing.assert_allclose(
        stored[DISTRIBUTION_COLUMNS], distributed(rows())[DISTRIBUTION_COLUMNS]
    )
    crossing = distributed(rows("2014-01"))
    crossing.loc[1, "q90"] = crossing.loc[1, "q10"] - 0.5
    with pytest.raises(pa.errors.SchemaErrors, match="quantiles_ordered"):
        history.append_forecasts(uri, crossing)
    assert len(history.read_forecasts(uri)) == 3


def test_an_old_history_is_migrated_on_first_use_and_nothing_in_it_lost(uri):
    old_rows = pd.concat([rows(), rows(location="Bravo")], ignore_index=True)
    stored = check_migration(uri, old_rows, distributed(rows("2014-01", version=2)))
    assert len(stored) == 9
    with history.opened(uri) as engine:  # migrated once: nothing more to add
        assert history.add_missing_columns(engine, history.forecasts_table) == []
        assert history.column_names(engine, history.forecasts_table) >= set(DISTRIBUTION_COLUMNS)
    table = history.format_history(history.forecast_history(uri, location="alpha"), "table")
    header, old_line, *_ = table.splitlines()
    assert header.split()[6:10] == ["q10", "q50", "q90", "p_above_median"]
    assert old_line.split()[5:7] == ["10.000", "9.000"]  # the old row: forecast, blank quantiles


def test_history_rows_keep_the_published_distribution_and_its_median():
    table = pd.DataFrame(
        [np.arange(24, dtype=float)],
        index=pd.Index(["Alpha"], name="Location"),
        columns=[str(m) for m in pd.period_range("2012-01", "2013-12", freq="M")],
    )
    forecasts = forecast_frame("Alpha", "2013-12", "2", [1.0, 2.0, 3.0], spread=0.5)
    made = history_rows(forecasts, table, {("Alpha", "2"): RUN}, PUBLISHED)
    published = forecasts.set_index("month")
    assert made["q50"].tolist() == made["forecast"].tolist() == [1.0, 2.0, 3.0]
    for name in [*QUANTILE_COLUMNS, "p_above_median"]:
        assert made[name].tolist() == published[name].tolist(), name
    # each calendar month holds m and m + 12: its median m + 6, only the later year above it
    assert made["median"].tolist() == [6.0, 7.0, 8.0]
    assert made["base_rate"].unique().tolist() == [0.5]
    history.PublishedForecasts.validate(made)
    point_only = history_rows(
        forecasts.drop(columns=[*QUANTILE_COLUMNS, "p_above_median"]),
        table,
        {("Alpha", "2"): RUN},
        PUBLISHED,
    )
    assert point_only[[*QUANTILE_COLUMNS, "p_above_median"]].isna().all().all()
    history.PublishedForecasts.validate(point_only)
