"""The forecast history on tiny data with the embedded sqlite default: three retrains, the
third scoring the first two's forecasts (checked by hand), a repeat that adds no row, and
`tempcast forecasts` reading it without TensorFlow or Prefect."""

import json
import subprocess
import sys

import pytest

from flows.retrain import retrain_flow
from tasks.publish.history import DEFAULT_URI, read_forecasts
from tests.support.cli_probe import imported, probed
from tests.support.history import AS_OFS, check_three_retrains, three_retrains
from tests.support.tiny import tiny_settings


def test_retrains_record_their_forecasts_and_score_them_once_their_months_arrive(tracking_store):
    results = three_retrains(tracking_store)
    expected = check_three_retrains(tracking_store, DEFAULT_URI, results)
    assert (tracking_store / "forecasts.db").is_file()

    last = tiny_settings(tracking_store / "obs.csv", tracking_store / AS_OFS[2])
    again = retrain_flow(as_of=AS_OFS[2], settings=last)
    stored = read_forecasts(DEFAULT_URI)
    assert len(stored) == 3 * 2 * 6
    assert again.live.scored_now == results[2].live.scored_now
    assert again.live.metrics() == results[2].live.metrics()
    assert again.live.worse() == results[2].live.worse()

    shown = subprocess.run(
        [sys.executable, *probed("forecasts", "--location", "alpha", "--format", "json")],
        cwd=tracking_store,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert shown.returncode == 0, shown.stderr
    assert imported(shown.stderr) == []
    records = json.loads(shown.stdout)
    assert len(records) == 3 * 6 and {r["location"] for r in records} == {"Alpha"}
    scored = [r for r in records if r["actual"] is not None]
    assert len(scored) == 12 and all(r["month"] <= AS_OFS[2] for r in scored)
    assert all(r["error"] == pytest.approx(r["forecast"] - r["actual"]) for r in scored)
    print(
        f"\nthird retrain scored {expected['scored_now']}; live MAE {expected['live_mae']:.3f} °C,"
        f" climatology {expected['live_climatology_mae']:.3f} °C; worse: {expected['worse']}"
    )
