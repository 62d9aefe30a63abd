"""The observation store: both layouts, provenance, a repeated file, corrections with their
revisions, rejects with reasons, an ingest failing in the middle, one-line errors for files of
another layout, and the store read back as the pipeline reads a file."""

import pandas as pd
import pytest
import sqlalchemy as sa

from benchmarks.bureau import bureau_lines, bureau_month, write_bureau
from tasks.data import store, store_tables
from tasks.data.coverage import store_coverage
from tasks.data.ingest import ingest_observations, read_store
from tasks.data.intake import check_observation_file, ingest_file
from tasks.errors import TempcastError
from tests.support.synthetic import write_lines

FIRST = ("2017-06-01,Alpha,5.0,15.0", "2017-06-02,Alpha,NA,16.0", "2017-06-01,Bravo,6.0,14.0")


@pytest.fixture
def uri(tmp_path) -> str:
    """A fresh embedded store."""
    return f"sqlite:///{tmp_path / 'observations.db'}"


def table(uri: str, name: str) -> pd.DataFrame:
    """A store table as it is."""
    engine = sa.create_engine(uri)
    try:
        with engine.connect() as connection:
            return pd.read_sql_table(name, connection)
    finally:
        engine.dispose()


def test_a_kaggle_file_is_stored_with_its_provenance_and_rejects(tmp_path, uri):
    path = write_lines(tmp_path / "june.csv", *FIRST, "2017-06-03,Alpha,25,16", "x,Alpha,1,2")
    done = ingest_file.fn(path, uri)
    assert done.counts() == {
        **{"read": 5, "added": 3, "changed": 0, "unchanged": 0, "rejected": 2},
        "missing_temperature": 1,
    }
    ingests = table(uri, "observation_ingests")
    assert ingests[["id", "source_name", "layout"]].values.tolist() == [[1, "june.csv", "kaggle"]]
    assert (
        ingests.loc[0, "source_sha256"] == done.provenance.sha256
        and len(done.provenance.sha256) == 64
    )
    assert ingests.loc[0, ["rows_read", "rows_added", "rows_rejected"]].tolist() == [5, 3, 2]
    rows = table(uri, "observations").sort_values(["location", "date"])
    assert rows["min_temp"].isna().tolist() == [False, True, False]  # a missing value kept as such
    assert set(rows["first_ingest_id"]) == set(rows["ingest_id"]) == {1}
    rejects = table(uri, "observation_rejects")
    assert rejects[["record", "reason"]].values.tolist() == [
        [4, "min_above_max"],
        [5, "invalid_date"],
    ]
    assert "rejected record 5 (x, Alpha, 1, 2): invalid_date" in "\n".join(done.lines())


def test_the_same_file_again_adds_nothing_and_says_so(tmp_path, uri):
    path = write_lines(tmp_path / "june.csv", *FIRST)
    ingest_file.fn(path, uri)
    again = ingest_file.fn(path, uri)
    assert again.written.repeated and again.counts()["added"] == 0
    assert again.lines()[0].startswith("june.csv: already ingested (ingest 1, ")
    assert again.lines()[0].endswith("same SHA-256): nothing added")
    assert len(table(uri, "observation_ingests")) == 1 and len(table(uri, "observations")) == 3


def test_a_correction_replaces_the_value_and_keeps_the_old_one_as_a_revision(tmp_path, uri):
    ingest_file.fn(write_lines(tmp_path / "june.csv", *FIRST), uri)
    later = ("2017-06-01,Alpha,5.5,15.0", "2017-06-02,Alpha,NA,NA", "2017-06-01,Bravo,6.0,14.0")
    done = ingest_file.fn(write_lines(tmp_path / "fixed.csv", *later, "2017-06-03,Alpha,6,17"), uri)
    assert done.counts() == {
        **{"read": 4, "added": 1, "changed": 1, "unchanged": 2, "rejected": 0},
        "missing_temperature": 1,
    }
    assert done.lines()[-1] == "  corrected: Alpha 2017-06 (1 day)"
    revisions = table(uri, "observation_revisions")
    assert revisions[
        ["location", "min_temp", "max_temp", "ingest_id", "replaced_by"]
    ].values.tolist() == [["Alpha", 5.0, 15.0, 1, 2]]
    stored = read_store(uri)
    alpha = stored.accepted.set_index(["Location", "Date"]).loc["Alpha"]
    assert alpha["MinTemp"].tolist() == [5.5, 6.0]  # the new value is used from now on
    assert stored.incomplete["MaxTemp"].tolist() == [16.0]  # NA never replaced a value
    rows = table(uri, "observations").set_index(["location", "date"]).sort_index()
    assert rows["first_ingest_id"].tolist() == [1, 1, 2, 1]
    assert rows["ingest_id"].tolist() == [2, 1, 2, 1]


def test_a_failure_in_the_middle_of_an_ingest_leaves_the_store_as_it_was(
    tmp_path, uri, monkeypatch
):
    ingest_file.fn(write_lines(tmp_path / "june.csv", *FIRST), uri)
    before = {name: table(uri, name) for name in store_tables.metadata.tables}

    def broken(*_args):
        raise OSError("disk gone")

    monkeypatch.setattr(store, "write_rejects", broken)  # after rows are added and changed
    later = write_lines(tmp_path / "fixed.csv", "2017-06-01,Alpha,5.5,15", "2017-07-01,Alpha,1,2")
    with pytest.raises(OSError, match="disk gone"):
        ingest_file.fn(later, uri)
    for name, frame in before.items():
        pd.testing.assert_frame_equal(table(uri, name), frame)
    monkeypatch.undo()
    assert ingest_file.fn(later, uri).counts()["changed"] == 1  # and it can be done again


@pytest.mark.parametrize("encoding", ["latin-1", "utf-8"])
def test_a_bureau_file_is_read_whatever_its_preamble_and_encoding(tmp_path, uri, encoding):
    rows = [("1", "7.1", "18.2"), ("2", "", "19.0"), ("10", "25", "19.5")]
    lines = bureau_lines("Coffs Harbour", "New South Wales", "2017-07", rows, notes=2)
    done = ingest_file.fn(write_bureau(tmp_path / "coffs.csv", lines, encoding), uri)
    assert done.counts()["added"] == 2 and done.validated.rejects["reason"].tolist() == [
        "min_above_max"
    ]
    assert done.provenance.layout == "bom" and done.provenance.station == "018069"
    stored = read_store(uri)
    assert stored.accepted[["Date", "Location"]].astype(str).values.tolist() == [
        ["2017-07-01", "CoffsHarbour"]
    ]
    assert stored.incomplete["Date"].dt.day.tolist() == [2]


def test_a_bureau_file_may_be_named_for_another_location(tmp_path, uri):
    path = bureau_month(tmp_path, station="Elliston", days=3)
    assert ingest_file.fn(path, uri, "Ellis").validated.accepted["Location"].unique().tolist() == [
        "Ellis"
    ]


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (["Date,Station,Low,High", "2017-01-01,A,1,2"], "required column 'Location' is missing"),
        (
            ['"Daily Weather Observations for Elliston, South Australia for July 2017"', "", "a,b"],
            "no Bureau header line",
        ),
        (
            [
                '"Daily Weather Observations for Elliston, South Australia for July 2017"',
                "",
                ',"Date","Minimum temperature (°C)","Rainfall (mm)"',
                ",2017-07-1,1,0",
            ],
            "Bureau header has no 'Maximum temperature (°C)' column",
        ),
        (
            [
                '"Daily Weather Observations for Mount Gambier (Airport), SA for July 2017"',
                "",
                ',"Date","Minimum temperature (°C)","Maximum temperature (°C)"',
                ",2017-07-1,1,2",
            ],
            "is not a plain station name; pass --location NAME",
        ),
    ],
)
def test_a_file_of_another_layout_is_one_line_naming_the_problem(tmp_path, lines, message):
    path = write_bureau(tmp_path / "bad.csv", lines)
    with pytest.raises(
        TempcastError, match=message.replace("(", r"\(").replace(")", r"\)")
    ) as error:
        check_observation_file(path)
    assert "\n" not in str(error.value) and str(path) in str(error.value)


def test_a_station_stored_under_another_spelling_is_refused(tmp_path, uri):
    ingest_file.fn(write_lines(tmp_path / "june.csv", *FIRST), uri)
    with pytest.raises(TempcastError, match="location 'alpha' is stored as 'Alpha'"):
        ingest_file.fn(write_lines(tmp_path / "july.csv", "2017-07-01,alpha,5,15"), uri)
    assert len(table(uri, "observation_ingests")) == 1


def test_location_is_for_bureau_files_only(tmp_path):
    with pytest.raises(TempcastError, match="--location applies to Bureau files only"):
        check_observation_file(write_lines(tmp_path / "june.csv", *FIRST), "Alpha")


def test_the_store_reads_back_as_the_file_reads(tmp_path, uri):
    path = write_lines(tmp_path / "june.csv", *FIRST, "2017-06-03,Alpha,25,16")
    ingest_file.fn(path, uri)
    from_file, from_store = ingest_observations.fn(path), ingest_observations.fn(uri)
    pd.testing.assert_frame_equal(from_store.accepted, from_file.accepted)  # in the file's order
    assert from_store.counts() == from_file.counts()
    assert from_store.last_date == from_file.last_date
    assert from_store.rejects_by_reason() == from_file.rejects_by_reason()


def test_coverage_says_which_months_are_complete(tmp_path, uri):
    ingest_file.fn(bureau_month(tmp_path, month="2017-06", days=30), uri)
    ingest_file.fn(bureau_month(tmp_path, month="2017-07", days=12), uri)
    june = store_coverage(uri, "coffsharbour", "2017-06").iloc[0]
    assert (june["days"], june["of"], june["complete"], june["last_day"]) == (30, 30, "yes", 30)
    assert june["first_ingest"].startswith("1 (") and june["last_ingest"].startswith("1 (")
    july = store_coverage(uri, month="2017-07").iloc[0]
    assert (july["days"], july["complete"]) == (12, "no")
    with pytest.raises(TempcastError, match="no stored observation for location 'Nowhere'"):
        store_coverage(uri, "Nowhere")


def test_an_empty_store_is_one_line(uri):
    with pytest.raises(TempcastError, match="holds no observations yet: tempcast ingest FILE"):
        store_coverage(uri)
