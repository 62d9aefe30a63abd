"""Every use of a private MLflow or Keras API, in one place: each can break on an upgrade.

Written against mlflow 3.17.2 and keras 3.15.1. PRIVATE_APIS lists each with what it is for,
the public alternative and what it saves; tests/unit/test_compat.py fails naming the API when an
upgrade removes one. Times measured on this project's 2-core machine (sqlite store, tiny models):

- MlflowClient._get_registry_client() (registry_writer): the registry half of the client, for
  alias and tag writes to tempcast's own models. Public alternative: the MlflowClient methods of
  the same names, which first read the whole registered model to refuse MLflow prompts (a
  tempcast model never is one): six reads per promotion, a fifth of a location's tracking time
  in the flow's process. Measured (12 alias moves on a loaded machine): 107 ms public,
  45 ms here.
- keras.src global state and saving_lib.get_attr_skipset (remember_saving_skipsets): Keras 3.15
  caches the attributes it skips when saving under one key and looks them up under another.
  Public alternative: none but model.save as it is; saving a location's model took 0.24 s
  (cProfile) before and 0.09 s after; re-measured without a profiler on a loaded machine, a
  default network's model.save took 272 ms without and 214 ms with it.
- The pyfunc flavour stand-in (PyfuncFlavor) given to mlflow.models.Model.log: mlflow.pyfunc
  without its check of the input example by loading the model again. Public alternative:
  mlflow.pyfunc.log_model, which loads every logged model back once (the tests load registered
  versions through pyfunc instead).
- Dataset._to_mlflow_entity (dataset_entity): the entity mlflow.log_input sends, logged with an
  explicit run id from a worker thread. Public alternative: mlflow.log_input, which needs (or
  starts) an active run, thread-local in MLflow.
- The inside of a `.keras` file (keras_file_entries, keras_file): a zip of config.json and
  model.weights.h5, which tasks.tracking.models.RepointedFiles writes a location's constants
  into: 1.5 ms against Keras' 30 ms per saved model (measured when it was written). Public
  alternative: model.save each time.

Registration itself uses the public MlflowClient (register_version): mlflow.register_model
prints two lines per version ("Successfully registered model ..." / "Created version ..."), the
client prints none, for the same calls to the store (measured, 12 versions on a loaded machine:
188 ms a version through mlflow.register_model and 24 printed lines, 175 ms and none here).
"""

import importlib
import io
import json
import zipfile
from dataclasses import dataclass
from typing import Any

import mlflow
from mlflow.exceptions import MlflowException
from mlflow.models import Model
from mlflow.tracking import MlflowClient
from mlflow.utils.mlflow_tags import MLFLOW_MODEL_VERSIONS

KERAS_CONFIG_ENTRY, KERAS_WEIGHTS_ENTRY = "config.json", "model.weights.h5"


@dataclass(frozen=True)
class PrivateApi:
    """A private API tempcast uses: its dotted path (module, then attributes), the version it
    was written against, the public alternative and what using it saves."""

    path: str
    written_against: str
    alternative: str
    saves: str


PRIVATE_APIS = (
    PrivateApi(
        "mlflow.tracking.client:MlflowClient._get_registry_client",
        "mlflow 3.17.2",
        "MlflowClient's own registry methods",
        "six reads of the registered model per promotion",
    ),
    PrivateApi(
        "mlflow.tracking._model_registry.client:ModelRegistryClient.set_registered_model_alias",
        "mlflow 3.17.2",
        "MlflowClient.set_registered_model_alias",
        "the read of the registered model before each write",
    ),
    PrivateApi(
        "keras.src.backend.common.global_state:set_global_attribute",
        "keras 3.15.1",
        "none: model.save as it is",
        "0.15 s per saved model",
    ),
    PrivateApi(
        "keras.src.saving.saving_lib:get_attr_skipset",
        "keras 3.15.1",
        "none: model.save as it is",
        "0.15 s per saved model",
    ),
    PrivateApi(
        "keras.src.saving.saving_lib:_CONFIG_FILENAME",
        "keras 3.15.1",
        "model.save for every location's model",
        "28 ms per saved model (the .keras file's layout: config.json and model.weights.h5)",
    ),
    PrivateApi(
        "mlflow.data.pandas_dataset:PandasDataset._to_mlflow_entity",
        "mlflow 3.17.2",
        "mlflow.log_input in an active run",
        "an active (thread-local) run per worker thread",
    ),
    PrivateApi(
        "mlflow.models.model:Model.log",
        "mlflow 3.17.2",
        "mlflow.pyfunc.log_model",
        "loading every logged model back once to check its input example",
    ),
)


def resolve(path: str) -> Any:
    """The object at `module:attribute.attribute`; AttributeError or ImportError when gone."""
    module, _, attributes = path.partition(":")
    found: Any = importlib.import_module(module)
    for name in attributes.split(".") if attributes else []:
        found = getattr(found, name)
    return found


def missing_apis() -> list[str]:
    """Each private API of PRIVATE_APIS that the installed libraries no longer have, named with
    the version it was written against and its public alternative."""
    gone = []
    for api in PRIVATE_APIS:
        try:
            resolve(api.path)
        except (ImportError, AttributeError) as error:
            gone.append(
                f"{api.path} (written against {api.written_against}; public alternative:"
                f" {api.alternative}): {error}"
            )
    return gone


def registry_writer(client: MlflowClient) -> Any:
    """The client's registry half, for writes to tempcast's own registered models (the same
    methods and arguments), without the read of the whole registered model that MlflowClient
    makes before each write to refuse MLflow prompts."""
    return client._get_registry_client()


def register_version(client: MlflowClient, name: str, info: Any, tags: dict[str, str]) -> str:
    """Register a logged model (its ModelInfo) as a new version of `name` with its tags, as
    mlflow.register_model does (the registered model created when new, the version linked from
    the logged model's tags) but printing nothing; the version."""
    model_id = info.model_id or info.model_uri.removeprefix("models:/")  # models:/<model id>
    try:
        client.create_registered_model(name)
    except MlflowException as error:
        if error.error_code not in ("RESOURCE_ALREADY_EXISTS", "ALREADY_EXISTS"):
            raise
    created = client.create_model_version(
        name, info.model_uri, run_id=info.run_id, tags=tags, model_id=model_id
    )
    linked = [{"name": created.name, "version": created.version}]
    model = client.get_logged_model(model_id)
    if earlier := model.tags.get(MLFLOW_MODEL_VERSIONS):
        linked = json.loads(earlier) + linked
    client.set_logged_model_tags(model_id, {MLFLOW_MODEL_VERSIONS: json.dumps(linked)})
    return str(created.version)


def remember_saving_skipsets() -> None:
    """Keras 3.15 works out, for every layer it saves, which attributes to skip (a fresh Layer
    and its dir()): it caches the answer under `saving_attr_skipset_*` but looks it up under
    `saving_attr_skiplist_*`, so it never finds it. Store it where it looks (in this thread:
    Keras' global state is per thread)."""
    from keras.src.backend.common import global_state
    from keras.src.saving import saving_lib

    for kind in ("Operation", "Layer", "Functional", "Sequential"):
        key = f"saving_attr_skiplist_{kind}"
        if global_state.get_global_attribute(key) is None:
            global_state.set_global_attribute(key, saving_lib.get_attr_skipset(kind))


class PyfuncFlavor:
    """mlflow.pyfunc for mlflow.models.Model.log, told not to check the input example by
    loading the model again; everything else is MLflow's own."""

    __name__ = "mlflow.pyfunc"

    @staticmethod
    def save_model(path: str, mlflow_model: Model, **kwargs: Any) -> None:
        kwargs.pop("validate_serving_input", None)
        kwargs.pop("flavor_name", None)
        mlflow.pyfunc.save_model(path, mlflow_model=mlflow_model, **kwargs)


def dataset_entity(dataset: Any) -> Any:
    """The entity of an MLflow dataset, as mlflow.log_input sends it (that call needs, or
    starts, an active run)."""
    return dataset._to_mlflow_entity()


def keras_file_entries(saved: bytes) -> dict[str, bytes]:
    """The files inside a saved `.keras` file (a zip), by name."""
    with zipfile.ZipFile(io.BytesIO(saved)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def keras_file(entries: dict[str, bytes]) -> bytes:
    """A `.keras` file's bytes from its entries (see keras_file_entries)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return buffer.getvalue()
