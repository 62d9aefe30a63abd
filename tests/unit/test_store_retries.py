"""MLflow steps are retried by Prefect, with backoff: twice, 5 then 10 seconds apart (README,
"A shared MLflow tracking server"), then fail with one line naming the tracking URI. The waits
are observed, not slept: Prefect's task engine sleeps through `time.sleep`, replaced here."""

from types import SimpleNamespace

import prefect.task_engine
import pytest

import tasks.tracking.runs as runs_module
from flows.retrain import retrain_flow  # noqa: F401  (every step's module imported)
from tasks.backtest.origins import publish_backtest
from tasks.errors import InfrastructureError
from tasks.pipeline.plan import plan_units
from tasks.pipeline.promotion import promote_location
from tasks.publish.forecasts import forecast_location, publish_forecasts, record_forecasts
from tasks.publish.live import publish_live_accuracy
from tests.support.prefect_server import free_port
from tests.support.tiny import in_flow

# Every Prefect task that reads or writes the tracking store (runs, artifacts, the registry).
MLFLOW_STEPS = [
    runs_module.start_parent_run,
    runs_module.log_location_run,
    runs_module.close_parent_run,
    plan_units,
    promote_location,
    forecast_location,
    publish_forecasts,
    record_forecasts,
    publish_live_accuracy,
    publish_backtest,
]


@pytest.mark.parametrize("step", MLFLOW_STEPS, ids=lambda step: step.name)
def test_every_mlflow_step_is_retried_twice_5_then_10_seconds_apart(step):
    assert step.retries == 2
    assert step.retry_delay_seconds == [5, 10]


def test_a_step_against_a_store_that_is_down_is_tried_three_times_then_names_it(
    tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    down = f"http://127.0.0.1:{free_port()}"  # nothing listens: refused at once
    monkeypatch.setenv("MLFLOW_TRACKING_URI", down)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")  # count the steps' own tries
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR", "0")
    waits: list[float] = []
    monkeypatch.setattr(prefect.task_engine, "time", SimpleNamespace(sleep=waits.append))
    attempts = []
    client = runs_module.mlflow_client

    def counted_client():
        attempts.append(len(waits))  # how many waits came before this attempt
        return client()

    monkeypatch.setattr(runs_module, "mlflow_client", counted_client)
    with pytest.raises(InfrastructureError) as failed:
        in_flow(runs_module.start_parent_run, "retries", {}, {})
    assert str(failed.value).startswith(f"MLflow tracking at {down} failed: ")
    assert attempts == [0, 1, 2]  # three tries, a wait before each retry
    assert waits == pytest.approx([5, 10], abs=1)
