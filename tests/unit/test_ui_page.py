"""`make ui` first prints where the tempcast runs are: MLflow 3 opens on its GenAI page."""

from mlflow.tracking import MlflowClient

from tasks.tracking.store import EXPERIMENT_NAME, runs_page

UI = "http://127.0.0.1:5000"


def test_an_empty_store_says_there_are_no_runs_yet(tracking_store):
    assert runs_page(UI) == (
        f"No tempcast runs yet in sqlite:///{tracking_store / 'mlflow.db'}; the MLflow UI: {UI}"
    )


def test_the_runs_page_of_the_tempcast_experiment(tracking_store):
    client = MlflowClient(f"sqlite:///{tracking_store / 'mlflow.db'}")
    client.create_experiment("another")
    experiment_id = client.create_experiment(EXPERIMENT_NAME)
    assert runs_page(UI) == (
        f"The tempcast runs in the MLflow UI: {UI}/#/experiments/{experiment_id}/runs"
    )
