"""The prepare flow and its CLI: files written, summary printed, unusable input in one line."""

import json
import subprocess
import sys

import pandas as pd
from typer.testing import CliRunner

from flows.cli import app
from flows.prepare import prepare_flow
from tests.support.synthetic import synthetic_observations, write_observations


def observations_with_problems():
    """Two synthetic locations, one month removed for Bravo, a few bad rows appended."""
    frame = synthetic_observations(("Alpha", "Bravo"), "2009-01-01", "2012-12-31").astype(str)
    frame = frame[~((frame["Location"] == "Bravo") & frame["Date"].str.startswith("2010-05"))]
    bad = pd.DataFrame(
        [["2010-13-01", "Alpha", "1", "2"], ["2010-01-01", "A/B", "1", "2"]],
        columns=frame.columns,
    )
    return pd.concat([frame, bad, frame.iloc[[0]]], ignore_index=True)


def test_prepare_flow_writes_every_file(tmp_path):
    data = write_observations(observations_with_problems(), tmp_path / "obs.csv")
    out = tmp_path / "out"
    report = prepare_flow(data=str(data), out=str(out), selection="auto")

    monthly = pd.read_csv(out / "monthly.csv")
    assert monthly.columns[0] == "Location"
    assert list(monthly.columns[1:3]) == ["2009-01", "2009-02"]
    assert monthly.shape == (2, 1 + 48) and not monthly.isna().any().any()
    imputed = pd.read_csv(out / "imputed.csv", index_col="Location")
    assert imputed.loc["Bravo", "2010-05"] and imputed.to_numpy().sum() == 1
    rejects = pd.read_csv(out / "rejects.csv")
    assert sorted(rejects["reason"]) == ["duplicate", "invalid_date", "invalid_location"]
    saved = json.loads((out / "report.json").read_text())
    assert (
        saved["rows_read"]
        == saved["rows_accepted"] + saved["rows_rejected"] + saved["rows_missing_temperature"]
    )
    assert saved["imputed_cells"] == 1 and saved["imputed"] == {"Bravo": ["2010-05"]}
    assert saved == json.loads(json.dumps(report, default=str))
    assert "plotly" in (out / "monthly.html").read_text()[:200_000]


def test_cli_prepare_prints_a_summary(tmp_path):
    data = write_observations(observations_with_problems(), tmp_path / "obs.csv.gz")
    result = CliRunner().invoke(
        app,
        ["prepare", "--data", str(data), "--out", str(tmp_path / "o"), "--selection", "article"],
    )
    assert result.exit_code == 0, result.output
    assert "Rejected by reason: duplicate 1, invalid_date 1, invalid_location 1" in result.output
    assert "Kept 2 locations x 48 months (2009-01..2012-12)" in result.output


def test_cli_unusable_file_is_one_line_without_traceback(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("Date,Location,MinTemp\n2017-01-01,A,1\n")
    completed = subprocess.run(
        [sys.executable, "-m", "flows", "prepare", "--data", str(bad)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 2
    assert completed.stdout == ""
    assert completed.stderr.strip().splitlines() == [
        f"tempcast: error: data file {bad}: required column 'MaxTemp' is missing"
        " (needs Date, Location, MinTemp, MaxTemp)"
    ]
