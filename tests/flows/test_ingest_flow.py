"""The ingest flow and its commands: Bureau and Kaggle files into the store, a correction
naming what it touches, the flow's table artifact, `tempcast observations`, a store-backed
prepare giving the same table and digest as the file, and one-line errors before Prefect."""

import json
import subprocess
import sys

import pandas as pd
import pytest
from prefect.artifacts import Artifact
from typer.testing import CliRunner

from benchmarks.bureau import bureau_month
from flows import ingest as ingest_module
from flows.cli import app
from tasks.publish.history import append_forecasts
from tests.support.cli_probe import imported, probed
from tests.support.forecasts import stored_rows
from tests.support.synthetic import synthetic_observations, write_observations


@pytest.fixture
def store(tracking_store, monkeypatch) -> str:
    """An embedded store in the test's working folder, named by the variable."""
    uri = f"sqlite:///{tracking_store / 'observations.db'}"
    monkeypatch.setenv("TEMPCAST_OBSERVATIONS_URI", uri)
    return uri


def invoke(*arguments: str) -> str:
    """Run `tempcast ARGUMENTS` in this process; its output (it must succeed)."""
    result = CliRunner().invoke(app, list(arguments))
    assert result.exit_code == 0, result.output
    return result.output


def test_ingest_then_a_correction_names_what_it_touches(store, tracking_store, monkeypatch):
    events = []
    monkeypatch.setattr(ingest_module, "emit_event", lambda **event: events.append(event))
    history = synthetic_observations(("Alpha", "CoffsHarbour"), "2014-01-01", "2017-06-30")
    kaggle = write_observations(history, tracking_store / "history.csv")
    append_forecasts("sqlite:///forecasts.db", stored_rows("2017-05", location="CoffsHarbour"))
    first = invoke("ingest", str(kaggle), str(bureau_month(tracking_store, month="2017-07")))
    assert "history.csv: ingest 1 (kaggle" in first and "2,554 added" in first
    assert "IDCJDW-CoffsHarbour-2017-07.csv: ingest 2 (bom" in first and "31 added" in first
    assert "Corrected" not in first
    assert "Month 2017-06 is complete: tempcast.observations.month-complete emitted" in first
    assert [(e["event"], e["payload"]) for e in events] == [
        ("tempcast.observations.month-complete", {"month": "2017-06"})
    ]

    (tracking_store / "fixed").mkdir()
    fixed = bureau_month(tracking_store / "fixed", month="2017-06", days=30, offset=0.5)
    second = invoke("ingest", str(fixed))
    assert "30 changed, 0 unchanged" in second
    assert "Corrected months: CoffsHarbour 2017-06" in second
    assert (
        "published forecasts made from them or scored against them: CoffsHarbour as of 2017-05"
        in second
    )
    store = f"sqlite:///{tracking_store / 'observations.db'}"  # the store it read: run as is
    backfill = f"tempcast backfill --data {store} --from 2016-12 --to 2017-07"
    assert f"{backfill} --location CoffsHarbour" in second
    artifact = Artifact.get("observations-ingest")
    rows = json.loads(artifact.data) if isinstance(artifact.data, str) else artifact.data
    assert {row["month"]: row["changed"] for row in rows} == {"2017-06": 30}
    assert events[-1]["event"] == "tempcast.observations.corrected"
    assert events[-1]["payload"]["months"] == {"CoffsHarbour": ["2017-06"]}

    again = invoke("ingest", str(fixed))
    assert "already ingested (ingest 3," in again

    june = invoke("observations", "--month", "2017-06", "--location", "coffsharbour")
    assert "CoffsHarbour 2017-06    30  30      yes" in june
    assert "1 (" in june and "3 (" in june  # first and last ingest


def test_a_store_backed_prepare_gives_the_file_s_table_and_digest(store, tracking_store):
    frame = synthetic_observations(("Alpha", "Bravo"), "2009-01-01", "2012-12-31").astype(str)
    frame.loc[5, "MinTemp"] = "NA"
    path = write_observations(frame.sample(frac=1, random_state=1), tracking_store / "obs.csv")
    invoke("ingest", str(path))
    invoke("prepare", "--data", str(path), "--out", "from_file")
    invoke("prepare", "--data", store, "--out", "from_store")
    reports = [
        json.loads((tracking_store / out / "report.json").read_text())
        for out in ("from_file", "from_store")
    ]
    assert reports[0]["data_digest"] == reports[1]["data_digest"]
    assert reports[1]["data_file"] == store and reports[1]["rows_missing_temperature"] == 1
    tables = [
        pd.read_csv(tracking_store / out / "monthly.csv") for out in ("from_file", "from_store")
    ]
    pd.testing.assert_frame_equal(*tables)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["ingest", "nowhere.csv"], "data file nowhere.csv: not found"),
        (
            ["ingest", "bad.csv"],
            "data file bad.csv: Bureau header has no 'Maximum temperature (°C)' column",
        ),
        (
            ["observations", "--month", "2017-6"],
            "--month '2017-6' is not a month in the form YYYY-MM",
        ),
        (
            ["prepare", "--data", "sqlite:///empty.db"],
            "observation store sqlite:///empty.db holds no observations yet",
        ),
    ],
)
def test_command_mistakes_are_one_line_before_prefect_starts(tmp_path, arguments, message):
    (tmp_path / "bad.csv").write_bytes(
        b'"Daily Weather Observations for Elliston, South Australia for July 2017"\r\n\r\n'
        b',"Date","Minimum temperature (\xb0C)"\r\n,2017-07-1,1\r\n'
    )
    completed = subprocess.run(
        [sys.executable, *probed(*arguments)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert completed.returncode == 2, completed.stderr
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 2 and lines[0].startswith(f"tempcast: error: {message}"), lines
    assert imported(completed.stderr) == []  # neither Prefect nor anything heavy started
