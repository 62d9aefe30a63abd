"""The replayed year, tiny (benchmarks/replay.py on synthetic data): a real Prefect server, the
retrain deployment with its month-complete trigger, a process worker; the history and a monthly
drop of Bureau files, which also corrects two stations' last month of the history and arrives
twice. Each month-completing ingest starts exactly one retrain, by the event; nothing is
duplicated; the drop's month is scored live by its own retrain. (The whole year, the killed
worker and the backfill's difference: `python -m benchmarks.replay`.)"""

import pandas as pd

from benchmarks.replay import Plan, replay_year
from tests.support.prefect_server import prefect_server
from tests.support.synthetic import synthetic_observations
from tests.support.tiny import TINY_TRAINING

MONTHS = ["2016-06"]
AS_OF = ["2016-05", *MONTHS]  # the history completes 2016-05: its retrain forecasts June


def test_a_tiny_replayed_year(tmp_path):
    frame = synthetic_observations(("Alpha", "Bravo", "Charlie"), "2012-01-01", "2016-06-30")
    frame["Date"] = pd.to_datetime(frame["Date"])
    training = TINY_TRAINING.model_dump(exclude_none=True)
    plan = Plan(tmp_path, MONTHS, {"training": training}, correct_at=0, repeat_at=0)
    with prefect_server() as api_url:
        result = replay_year(frame, plan, api_url)

    assert result["completed_as_of"] == AS_OF
    assert result["retrains"] == {"runs": 2, "started_by_event": 2, "completed": 2}
    assert result["versions"] == {"versions": 6, "location_months": 6, "duplicated": 0}
    assert result["forecasts"] == {"rows": 6 * training["horizon"], "as_of": 2, "duplicated": 0}
    accuracy = pd.DataFrame(result["live_accuracy"])
    assert list(accuracy["month"]) == MONTHS and list(accuracy["scored_as_of"]) == MONTHS
    assert list(accuracy["scored"]) == [3]  # lead 1 of the 3 stations

    repeated = result["repeated"]
    assert repeated["month"] == "2016-06" and repeated["retrains_started"] == 0
    assert repeated["printed"].count("already ingested") == 3 + 2  # the drop, the corrections

    correction = result["correction"]
    assert correction == {**correction, "month": "2016-05", "stations": ["Alpha", "Bravo"]}
    printed = "\n".join(correction["printed"])
    assert "Corrected months: Alpha 2016-05; Bravo 2016-05\n" in printed  # not Charlie
    assert "Alpha as of 2016-05" in printed  # the forecast of June, published before
    assert "redo the backtest: tempcast backfill --data sqlite:///" in printed
