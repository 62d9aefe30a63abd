"""Ingest and validation: each rejection reason, missing values, file-level failures, lookup."""

import gzip
from pathlib import Path

import pandas as pd
import pytest

from tasks.data.ingest import (
    check_data_file,
    ingest_observations,
    read_raw_observations,
    resolve_data_path,
)
from tasks.errors import TempcastError
from tests.support.synthetic import HEADER, synthetic_observations, write_lines, write_observations

GOOD = "2017-01-01,Albury,10.5,20.5"


def ingest_lines(tmp_path: Path, *rows: str):
    """Ingest a file made of the given data rows."""
    return ingest_observations.fn(write_lines(tmp_path / "obs.csv", *rows))


def assert_reconciled(result) -> None:
    """rows_read == accepted + rejected + missing, always."""
    counts = result.counts()
    assert counts["rows_read"] == (
        counts["rows_accepted"] + counts["rows_rejected"] + counts["rows_missing_temperature"]
    )


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("2017-02-30,Albury,10,20", "invalid_date"),
        ("2017-13-01,Albury,10,20", "invalid_date"),
        ("yesterday,Albury,10,20", "invalid_date"),
        ("2017-01-02,,10,20", "invalid_location"),
        ("2017-01-02,../etc,10,20", "invalid_location"),
        ("2017-01-02,Al/bury,10,20", "invalid_location"),
        ("2017-01-02,Albury;DROP TABLE,10,20", "invalid_location"),
        ('2017-01-02,"Al""bury",10,20', "invalid_location"),
        ("2017-01-02,Albury,abc,20", "not_finite:MinTemp"),
        ("2017-01-02,Albury,10,inf", "not_finite:MaxTemp"),
        ("2017-01-02,Albury,nan,20", "not_finite:MinTemp"),
        ("2017-01-02,Albury,-31,20", "out_of_range:MinTemp"),
        ("2017-01-02,Albury,10,60.5", "out_of_range:MaxTemp"),
        ("2017-01-02,Albury,25,20", "min_above_max"),
    ],
)
def test_each_row_level_problem_is_rejected_with_its_reason(tmp_path, row, reason):
    result = ingest_lines(tmp_path, GOOD, row)
    assert result.rows_accepted == 1
    assert result.rejects["reason"].tolist() == [reason]
    assert result.rejects["record"].tolist() == [2]
    assert_reconciled(result)


def test_rejected_rows_keep_their_original_values(tmp_path):
    result = ingest_lines(tmp_path, GOOD, "2017-01-02,Albury, 1e999 ,20")
    reject = result.rejects.iloc[0]
    assert (reject["Date"], reject["Location"], reject["MinTemp"], reject["MaxTemp"]) == (
        "2017-01-02",
        "Albury",
        " 1e999 ",
        "20",
    )


def test_a_row_with_several_problems_lists_them_all(tmp_path):
    result = ingest_lines(tmp_path, "2017-02-30,a/b,70,20")
    assert (
        result.rejects["reason"].iloc[0]
        == "invalid_date;invalid_location;out_of_range:MinTemp;min_above_max"
    )


def test_extra_exact_copies_are_rejected_and_one_is_kept(tmp_path):
    result = ingest_lines(
        tmp_path, GOOD, GOOD, "2017-01-01,Albury,10.50,20.5", "2017-01-02,Albury,1,2"
    )
    assert result.rows_accepted == 2
    assert result.rejects["reason"].tolist() == ["duplicate", "duplicate"]
    assert result.rejects["record"].tolist() == [2, 3]


def test_rows_sharing_date_and_location_with_different_values_are_all_rejected(tmp_path):
    result = ingest_lines(
        tmp_path, GOOD, "2017-01-01,Albury,11,20.5", GOOD, "2017-01-02,Albury,1,2"
    )
    assert result.rows_accepted == 1
    assert result.rejects["reason"].tolist() == ["conflicting_duplicate"] * 3
    assert_reconciled(result)


def test_an_invalid_row_does_not_make_a_valid_one_conflicting(tmp_path):
    result = ingest_lines(tmp_path, GOOD, "2017-01-01,Albury,abc,20")
    assert result.rows_accepted == 1
    assert result.rejects["reason"].tolist() == ["not_finite:MinTemp"]


@pytest.mark.parametrize("missing", ["", "NA", "na", "N/A", "NULL"])
def test_empty_or_na_temperature_is_missing_not_rejected(tmp_path, missing):
    result = ingest_lines(
        tmp_path, GOOD, f"2017-01-02,Albury,{missing},20", f"2017-01-03,Albury,1,{missing}"
    )
    assert result.counts() == {
        "rows_read": 3,
        "rows_accepted": 1,
        "rows_rejected": 0,
        "rows_missing_temperature": 2,
    }


def test_reconciliation_on_a_mixed_file(tmp_path):
    frame = synthetic_observations(("Alpha",), "2010-01-01", "2010-03-31")
    bad = pd.DataFrame(
        {
            "Date": ["2010-02-30", "2010-01-05", "2010-01-06", "2010-01-07"],
            "Location": ["Alpha", "Al pha!", "Alpha", "Alpha"],
            "MinTemp": ["1", "1", "NA", "x"],
            "MaxTemp": ["2", "2", "3", "4"],
        }
    )
    mixed = pd.concat([frame.astype(str), bad, frame.iloc[:3].astype(str)], ignore_index=True)
    result = ingest_observations.fn(write_observations(mixed, tmp_path / "mixed.csv"))
    assert_reconciled(result)
    # The NA row shares 2010-01-06 with a good row: two value sets, so both are conflicting.
    assert result.rejects_by_reason() == {
        "conflicting_duplicate": 2,
        "duplicate": 3,
        "invalid_date": 1,
        "invalid_location": 1,
        "not_finite:MinTemp": 1,
    }
    assert result.rows_accepted == len(frame) - 1


def test_columns_in_any_order_with_extra_columns_and_gzip_give_the_same_rows(tmp_path):
    frame = synthetic_observations(("Alpha", "Bravo"), "2010-01-01", "2010-02-28")
    plain = ingest_observations.fn(write_observations(frame, tmp_path / "plain.csv"))
    shuffled = frame[["MaxTemp", "Location", "MinTemp", "Date"]].assign(Rainfall=1.0, Other="x")
    gzipped = ingest_observations.fn(write_observations(shuffled, tmp_path / "shuffled.csv.gz"))
    pd.testing.assert_frame_equal(plain.accepted, gzipped.accepted)


def test_gzip_is_recognised_by_content_whatever_the_name(tmp_path):
    path = tmp_path / "looks-plain.csv"
    path.write_bytes(gzip.compress(f"Date,Location,MinTemp,MaxTemp\n{GOOD}\n".encode()))
    assert ingest_observations.fn(path).rows_accepted == 1


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "is empty"),
        (b"Date,Location,MinTemp,MaxTemp\n", "has a header but no data rows"),
        (b"Date,Location,MinTemp\n2017-01-01,A,1\n", "required column 'MaxTemp' is missing"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe", "not UTF-8 text"),
        (b'{"Date": "2017-01-01"}\n', "required column 'Date' is missing"),
        (b"\x1f\x8b\x08\x00garbage", "not a readable CSV file"),
    ],
)
def test_unusable_files_fail_with_one_line_naming_file_and_problem(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(TempcastError) as raised:
        check_data_file(path)
    text = str(raised.value)
    assert str(path) in text and message in text and "\n" not in text


def test_an_absent_file_is_named(tmp_path):
    with pytest.raises(TempcastError, match=r"nowhere\.csv: not found"):
        read_raw_observations(tmp_path / "nowhere.csv")


def test_undecodable_bytes_deep_in_the_file_are_caught_before_the_flow(tmp_path):
    path = tmp_path / "deep.csv"
    rows = "".join(f"2017-01-{day:02d},Albury,1,2\n" for day in range(1, 29)) * 40
    path.write_bytes(b"Date,Location,MinTemp,MaxTemp\n" + rows.encode() + b"\xff\xfe\n")
    with pytest.raises(TempcastError, match="byte 0xff cannot be decoded"):
        check_data_file(path)


def test_data_path_lookup_order(tmp_path, monkeypatch):
    explicit, from_env = tmp_path / "explicit.csv", tmp_path / "env.csv"
    monkeypatch.setenv("TEMPCAST_DATA", str(from_env))
    assert resolve_data_path(explicit) == explicit
    assert resolve_data_path() == from_env
    monkeypatch.delenv("TEMPCAST_DATA")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    local = write_lines(tmp_path / "data" / "weatherAUS.csv", GOOD)
    assert resolve_data_path() == local.resolve()


@pytest.mark.parametrize("extra", [",x", ",x,y"])
def test_a_first_row_longer_than_the_header_does_not_shift_the_columns(tmp_path, extra):
    # Regression (found by the property tests): pandas took the leading field(s) of such a file as
    # the index, shifting the values by a column, and ingest then failed with a TypeError instead
    # of a TempcastError. Fields past the header are now ignored like any other unused column.
    result = ingest_lines(tmp_path, GOOD + extra, "2017-01-02,Albury,1,2")
    assert result.rows_accepted == 2 and result.rows_rejected == 0
    first = result.accepted.iloc[0]
    assert (str(first["Date"].date()), first["Location"], first["MinTemp"], first["MaxTemp"]) == (
        "2017-01-01",
        "Albury",
        10.5,
        20.5,
    )


def test_a_rarer_spelling_of_a_station_name_is_rejected(tmp_path):
    result = ingest_lines(
        tmp_path,
        "2017-01-01,Alice Springs,10,20",
        "2017-01-02,Alice Springs,11,21",
        "2017-01-03,alice-springs,12,22",
        "2017-01-03,Darwin,22,32",
    )
    assert sorted(result.accepted["Location"].unique()) == ["Alice Springs", "Darwin"]
    assert result.rejects[["record", "reason"]].values.tolist() == [[3, "location_spelling"]]


def test_a_required_column_named_twice_is_refused(tmp_path):
    path = write_lines(tmp_path / "twice.csv", GOOD + ",2017-01-02", header=HEADER + ",Date")
    with pytest.raises(TempcastError, match="required column 'Date' appears more than once"):
        check_data_file(path)
