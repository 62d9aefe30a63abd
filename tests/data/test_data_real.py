"""Data tests on the real weatherAUS file: the recipe's table, exactly, and robust ingest."""

import numpy as np
import pandas as pd
import pytest

from tasks.data.ingest import ingest_observations, validate_observations
from tasks.data.months import month_range
from tasks.data.prepared import prepare_data
from tests.support.tiny import in_flow

RECIPE_GAPS = ["2011-04", "2012-12", "2013-02"]


@pytest.fixture(scope="module")
def ingested(real_data):
    return ingest_observations.fn(real_data)


def recipe_table(path) -> pd.DataFrame:
    """The tutorial's steps, written independently of the project's code."""
    raw = pd.read_csv(path, usecols=["Date", "Location", "MinTemp", "MaxTemp"])
    raw = raw.dropna(subset=["MinTemp", "MaxTemp"])
    raw["MedTemp"] = raw[["MinTemp", "MaxTemp"]].median(axis=1)
    raw["month"] = raw["Date"].str[:7]
    wide = raw.groupby(["Location", "month"])["MedTemp"].mean().unstack()
    wide = wide.drop(index=["Dartmoor", "Katherine", "Melbourne", "Nhil", "Uluru"])
    wide = wide.reindex(columns=month_range("2009-01", "2016-12"))
    for month in RECIPE_GAPS:
        before, after = (str(pd.Period(month, freq="M") + step) for step in (-1, 1))
        wide[month] = (wide[before] + wide[after]) / 2
    return wide


def test_every_real_row_is_accounted_for(ingested):
    counts = ingested.counts()
    assert counts["rows_read"] == 145460
    assert counts["rows_rejected"] == 0
    assert counts["rows_missing_temperature"] == 1881
    assert counts["rows_accepted"] == 145460 - 1881


def test_article_selection_equals_the_recipe_to_1e_9(ingested, real_data):
    prepared = in_flow(prepare_data, ingested, "article")
    assert prepared.table.shape == (44, 96)
    assert not prepared.table.isna().any().any()
    expected = recipe_table(real_data).loc[prepared.table.index, prepared.table.columns]
    assert np.abs(prepared.table.to_numpy() - expected.to_numpy()).max() < 1e-9
    imputed_columns = prepared.mask.columns[prepared.mask.any(axis=0)].tolist()
    assert imputed_columns == RECIPE_GAPS
    assert prepared.mask[RECIPE_GAPS].all().all()
    assert prepared.report["imputed_cells"] == 3 * 44


def test_auto_selection_on_the_real_data(ingested):
    prepared = in_flow(prepare_data, ingested, "auto")
    assert prepared.months[0] == "2009-01" and prepared.months[-1] == "2017-05"
    assert len(prepared.locations) == 44
    assert prepared.report["months_dropped"]["2017-06"].startswith("incomplete")
    assert set(prepared.report["locations_dropped"]) == {
        "Dartmoor",
        "Katherine",
        "Melbourne",
        "Nhil",
        "Uluru",
    }


def test_injected_bad_rows_reconcile_and_change_no_monthly_value(ingested, real_data):
    raw = pd.read_csv(
        real_data,
        usecols=["Date", "Location", "MinTemp", "MaxTemp"],
        dtype=str,
        keep_default_na=False,
    )
    junk = pd.DataFrame(
        {
            "Date": ["2010-02-30", "2010-05-01", "2010-05-01", "2010-05-01", "2010-05-01"],
            "Location": ["Albury", "../../etc", "Albury", "Albury", "Albury"],
            "MinTemp": ["5", "5", "-99", "abc", "30"],
            "MaxTemp": ["9", "9", "10", "10", "10"],
        }
    )
    injected = pd.concat([raw, junk, raw.sample(500, random_state=1)], ignore_index=True)
    result = validate_observations(injected, real_data)
    counts = result.counts()
    assert counts["rows_read"] == len(raw) + len(junk) + 500
    assert counts["rows_read"] == (
        counts["rows_accepted"] + counts["rows_rejected"] + counts["rows_missing_temperature"]
    )
    assert counts["rows_rejected"] == len(junk) + 500
    before = in_flow(prepare_data, ingested, "article").table
    after = in_flow(prepare_data, result, "article").table
    pd.testing.assert_frame_equal(before, after, check_exact=True)
