"""The backfill flow: idempotent, resumable, no leak past as_of, production untouched, from the
earliest origin a production fit allows."""

import functools
import subprocess
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

import flows.backfill as backfill_module
from flows.backfill import backfill_flow
from tasks.errors import TempcastError
from tasks.pipeline.failures import LocationsFailed
from tasks.pipeline.promotion import promote_location
from tasks.publish.history import append_forecasts, history_uri, read_forecasts
from tasks.tracking.runs import start_parent_run
from tests.support.forecasts import distributed, stored_rows
from tests.support.registry import register
from tests.support.synthetic import synthetic_observations, write_observations
from tests.support.tiny import observations_file, prepared_table, series_of, tiny_settings


@pytest.fixture
def observations(tracking_store):
    return observations_file(tracking_store, end="2014-12-31")


def child_runs(status: str | None = None) -> list:
    """Backfill unit runs in the store, optionally of one status."""
    client = MlflowClient()
    experiment = client.get_experiment_by_name("tempcast")
    if experiment is None:
        return []
    runs = client.search_runs([experiment.experiment_id], "tags.`tempcast.kind` = 'backfill'")
    return [r for r in runs if status is None or r.info.status == status]


def run(observations, tracking_store, start="2013-10", end="2013-12", **options):
    """A small backfill into the store's folder."""
    return backfill_flow(
        start=start, end=end, settings=tiny_settings(observations, tracking_store / "bf", **options)
    )


def production_forecasts(folder: Path) -> Path:
    """A production forecast as a retrain leaves it: `forecasts.csv` (in folder/outputs, where
    a retrain writes it by default) and the same rows in the forecast history (the default
    sqlite:///forecasts.db in the working folder). Returns the CSV."""
    rows = distributed(stored_rows(as_of="2013-09", months=6))
    assert append_forecasts(history_uri(), rows) == 6
    published = folder / "outputs" / "forecasts.csv"
    published.parent.mkdir()
    rows.to_csv(published, index=False)
    return published


def test_backfill_is_idempotent_and_never_touches_production(observations, tracking_store):
    (alpha,) = series_of(prepared_table(("Alpha",), months=48))
    champion = register(alpha, 20.0, 1.0, start_parent_run.fn("setup", {}, {}), "A")
    promote_location.fn(champion, "A", alpha, 6, None)
    client = MlflowClient()
    published = production_forecasts(tracking_store)
    csv_before, history_before = published.read_bytes(), read_forecasts(history_uri())

    first = run(observations, tracking_store)
    assert (first.trained, first.reused) == (6, 0)
    rows = pd.read_csv(tracking_store / "bf" / "backtest.csv")
    assert len(rows) == 3 * 2 * 6 and sorted(rows["as_of"].unique()) == [
        "2013-10",
        "2013-11",
        "2013-12",
    ]
    steps = rows.groupby(["as_of", "location"])["step"].apply(list)
    assert steps.map(lambda s: s == [1, 2, 3, 4, 5, 6]).all()
    assert len(child_runs("FINISHED")) == 6
    by_step = pd.read_csv(tracking_store / "bf" / "backtest_by_step.csv")
    assert list(by_step["step"]) == [1, 2, 3, 4, 5, 6]

    second = run(observations, tracking_store)
    assert (second.trained, second.reused) == (0, 6)
    assert len(child_runs()) == 6, "a repeated backfill creates no run"
    pd.testing.assert_frame_equal(second.rows, first.rows, check_dtype=False)

    model = client.get_registered_model("tempcast-alpha")
    assert {k: str(v) for k, v in model.aliases.items()} == {"champion": "1", "challenger": "1"}
    versions = client.search_model_versions("name = 'tempcast-alpha'")
    assert [str(v.version) for v in versions] == ["1"]
    assert client.search_registered_models(filter_string="name = 'tempcast-bravo'") == []
    # no production forecast: the history and the published files are as they were
    pd.testing.assert_frame_equal(read_forecasts(history_uri()), history_before)
    assert published.read_bytes() == csv_before
    files = ("forecasts.csv", "forecasts.html", "forecasts.png")
    assert [path for name in files for path in tracking_store.rglob(name)] == [published]


def test_a_crashed_backfill_is_completed_on_the_next_attempt(observations, tracking_store):
    run(observations, tracking_store, locations=["Alpha"])
    client = MlflowClient()
    by_as_of = {r.data.tags["tempcast.as_of"]: r for r in child_runs()}
    finished_process = subprocess.Popen(["true"])
    finished_process.wait()
    crashed = by_as_of["2013-11"].info.run_id  # left RUNNING by a process that died
    client.update_run(crashed, status="RUNNING")
    client.set_tag(crashed, "tempcast.pid", str(finished_process.pid))
    client.delete_run(by_as_of["2013-12"].info.run_id)  # died before its run was finished

    resumed = run(observations, tracking_store, locations=["Alpha"])
    assert (resumed.trained, resumed.reused) == (2, 1)
    finished = child_runs("FINISHED")
    assert sorted(r.data.tags["tempcast.as_of"] for r in finished) == [
        "2013-10",
        "2013-11",
        "2013-12",
    ]
    assert client.get_run(crashed).info.status == "KILLED"


def test_data_after_as_of_never_reaches_training(observations, tracking_store, monkeypatch):
    full = run(observations, tracking_store, start="2013-06", end="2013-06", locations=["Alpha"])
    frame = synthetic_observations(("Alpha", "Bravo"), "2009-01-01", "2014-12-31")
    cut = write_observations(frame[frame["Date"] <= "2013-06-30"], tracking_store / "cut.csv")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tracking_store / 'other.db'}")
    alone = run(cut, tracking_store, start="2013-06", end="2013-06", locations=["Alpha"])
    columns = ["month", "forecast", "baseline_climatology", "baseline_seasonal_naive"]
    pd.testing.assert_frame_equal(full.rows[columns], alone.rows[columns])
    assert full.rows["actual"].notna().all() and alone.rows["actual"].isna().all()


def test_backtests_start_at_the_first_origin_with_one_training_window(observations, tracking_store):
    early = run(observations, tracking_store, start="2009-12", end="2010-01", locations=["Alpha"])
    assert sorted(early.rows["as_of"].unique()) == ["2009-12", "2010-01"]
    runs = {r.data.tags["tempcast.as_of"]: r for r in child_runs("FINISHED")}
    for unit in runs.values():  # the backtest is the evaluation: no evaluation fit, no model
        assert unit.data.tags["tempcast.test_metrics"].startswith("test metrics not computed")
        assert "backtest_mae" in unit.data.metrics
        assert "test_mae" not in unit.data.metrics
        assert not unit.outputs.model_outputs


@pytest.mark.parametrize(
    ("start", "end", "message"),
    [
        ("2014-11", "2015-02", "as_of 2015-01 is outside the data"),
        (
            "2009-10",
            "2009-11",
            "as_of 2009-10 leaves 10 months of data; timestep 6 and horizon 6 need 12",
        ),
        ("2013-05", "2013-01", "wrong order"),
    ],
)
def test_bad_ranges_fail_before_any_training(observations, tracking_store, start, end, message):
    with pytest.raises(TempcastError, match=message):
        run(observations, tracking_store, start=start, end=end)
    assert not (tracking_store / "mlflow.db").exists() or child_runs() == []


def test_all_locations_means_those_kept_at_each_as_of(tracking_store):
    frame = synthetic_observations(
        ("Alpha", "Bravo", "Charlie", "Delta"), "2009-01-01", "2014-12-31"
    )
    stops_early = (frame["Location"] == "Charlie") & (frame["Date"] >= "2013-11-01")
    observations = write_observations(frame[~stops_early], tracking_store / "obs.csv")

    everything = run(observations, tracking_store)
    kept = everything.rows.groupby("as_of")["location"].unique().map(sorted).to_dict()
    assert kept == {
        "2013-10": ["Alpha", "Bravo", "Charlie", "Delta"],
        "2013-11": ["Alpha", "Bravo", "Delta"],
        "2013-12": ["Alpha", "Bravo", "Delta"],
    }
    assert everything.trained == 10

    with pytest.raises(LocationsFailed, match="Charlie as of 2013-11") as failed:
        run(observations, tracking_store, locations=["Charlie", "Alpha"])
    assert failed.value.finished.splitlines()[0].split()[:2] == ["step", "mae"]


class Overlap:
    """Counts the calls inside a function at once: each call, once in, waits (up to `patience`
    seconds) until `expected` calls are in, so that calls allowed to overlap do."""

    def __init__(self, expected: int, patience: float = 20) -> None:
        self.expected, self.patience = expected, patience
        self.inside = self.most = 0
        self.lock, self.enough = threading.Lock(), threading.Event()

    def wrap(self, function: Callable[..., Any]) -> Callable[..., Any]:
        """`function`, counted (with its signature, which Prefect binds the parameters to)."""

        @functools.wraps(function)
        def counted(*args: Any, **kwargs: Any) -> Any:
            with self.lock:
                self.inside += 1
                self.most = max(self.most, self.inside)
                if self.inside >= self.expected:
                    self.enough.set()
            try:
                self.enough.wait(self.patience)
                return function(*args, **kwargs)
            finally:
                with self.lock:
                    self.inside -= 1

        return counted


def test_concurrency_bounds_the_months_run_at_once(observations, tracking_store, monkeypatch):
    overlap = Overlap(expected=2)
    counted = backfill_module.backtest_origin.with_options()
    counted.fn = overlap.wrap(backfill_module.backtest_origin.fn)
    monkeypatch.setattr(backfill_module, "backtest_origin", counted)
    result = run(observations, tracking_store, locations=["Alpha"], concurrency=2)
    assert sorted(result.rows["as_of"].unique()) == ["2013-10", "2013-11", "2013-12"]
    assert overlap.most == 2  # two months at once, never the third
