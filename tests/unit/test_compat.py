"""The private MLflow and Keras APIs tempcast uses are all still there (an upgrade that removes
one fails here, naming it), and registering a version prints nothing."""

import json

import tasks.tracking.compat as compat
from tasks.tracking.store import experiment_id
from tests.support.registry import register
from tests.support.tiny import prepared_table, series_of


def test_every_private_api_used_is_still_there():
    assert compat.missing_apis() == []


def test_an_api_gone_is_named_with_its_version_and_alternative(monkeypatch):
    gone = compat.PrivateApi("mlflow.tracking.client:MlflowClient._gone", "mlflow 3", "X", "Y")
    monkeypatch.setattr(compat, "PRIVATE_APIS", (*compat.PRIVATE_APIS, gone))
    (missing,) = compat.missing_apis()
    assert missing.startswith("mlflow.tracking.client:MlflowClient._gone (written against mlflow 3")
    assert "public alternative: X" in missing


def test_a_module_gone_is_named(monkeypatch):
    gone = compat.PrivateApi("keras.src.no_such_module:thing", "keras 3.15.1", "X", "Y")
    monkeypatch.setattr(compat, "PRIVATE_APIS", (gone,))
    assert compat.missing_apis()[0].startswith("keras.src.no_such_module:thing")


def test_registering_versions_prints_none_of_mlflows_lines(tracking_store, capfd):
    from mlflow.tracking import MlflowClient

    (series,) = series_of(prepared_table(("Alpha",)))
    parent = MlflowClient().create_run(experiment_id()).info.run_id
    capfd.readouterr()
    tracked = [register(series, 10.0, 1.0, parent, "A") for _ in range(2)]
    printed = capfd.readouterr()
    assert [t.model_version for t in tracked] == ["1", "2"]
    for line in ("Successfully registered model", "Created version", "already exists"):
        assert line not in printed.out + printed.err
    models = MlflowClient().search_logged_models(experiment_ids=[experiment_id()])
    linked = sorted(str(json.loads(m.tags["mlflow.modelVersions"])[0]["version"]) for m in models)
    assert linked == ["1", "2"]  # each logged model names its registered version
