"""Logging a location's model into its run (and the registry), and loading a registered version.

A logged model is an MLflow python_function model from code (`serving.py`): a DataFrame of months
and values in, forecasts with their quantiles and chances of a warmer-than-median month out. It
carries the standalone Keras model as the artifact `model.keras`, which `load_version` loads in
Keras' safe mode, and the location's predictive distribution as `uncertainty.json` (see
uncertainty_constants), which `load_registered` reads too.
"""

import functools
import io
import json
import tempfile
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import h5py
import keras
import mlflow
import numpy as np
import pandas as pd
from mlflow.models import Model, ModelSignature
from mlflow.models.model import ModelInfo
from mlflow.types import ColSpec, Schema

from tasks.model.network import POINTED_SCALES, POINTED_TABLES
from tasks.model.uncertainty import (
    COVERAGES,
    QUANTILE_COLUMNS,
    Distribution,
    LocationSpread,
    Spread,
    distribution,
)
from tasks.tracking.compat import (
    KERAS_CONFIG_ENTRY,
    KERAS_WEIGHTS_ENTRY,
    PyfuncFlavor,
    keras_file,
    keras_file_entries,
    register_version,
    remember_saving_skipsets,
)
from tasks.tracking.store import mlflow_client, model_name, names_the_store

SERVING_CODE = Path(__file__).with_name("serving.py")
KERAS_ARTIFACT = "keras_model"  # the name serving.py loads it by (that file stands alone)
KERAS_FILE = "model.keras"
UNCERTAINTY_ARTIFACT = "uncertainty"  # serving.py reads it by this name too
UNCERTAINTY_FILE = "uncertainty.json"
OUTPUT_COLUMNS = ("forecast", *QUANTILE_COLUMNS, "p_above_median")
SIGNATURE = ModelSignature(
    inputs=Schema([ColSpec("string", "month"), ColSpec("double", "value")]),
    outputs=Schema([ColSpec("string", "month"), *(ColSpec("double", c) for c in OUTPUT_COLUMNS)]),
)


@functools.cache
def _pip_requirements() -> list[str]:
    """Pinned requirements of the serving environment (avoids MLflow's slow inference)."""
    names = ("mlflow", "tensorflow", "keras", "numpy", "pandas")
    return [f"{name}=={version(name)}" for name in names]


def saved_model(model: keras.Model) -> bytes:
    """The model in Keras' own format (a `.keras` file's bytes): what a run logs, and small to
    hand to another thread or process, unlike the model itself."""
    with tempfile.TemporaryDirectory(prefix="tempcast-model-") as folder:
        path = Path(folder) / KERAS_FILE
        remember_saving_skipsets()  # (tasks.tracking.compat: 0.24 s a save before, 0.09 s after)
        model.save(path)
        return path.read_bytes()


class RepointedFiles:
    """The saved files (see saved_model) of one model that network.point_at gives one location's
    constants after another. Keras saves it once; each later file is that file with the pointed
    layers' tables and scales written in: 1.5 ms against Keras' 30 ms, which walks and
    serialises every layer each time. A model without those layers is saved by Keras each time."""

    CONFIG, WEIGHTS = KERAS_CONFIG_ENTRY, KERAS_WEIGHTS_ENTRY

    def __init__(self, model: keras.Model) -> None:
        self.model = model
        self.first = saved_model(model)
        self.entries = keras_file_entries(self.first)
        self.config = json.loads(self.entries[self.CONFIG])
        self.table_paths = self._table_paths()

    def _table_paths(self) -> dict[str, str] | None:
        """Where in the weights file each pointed table is, found by its values (one dataset
        each); None where the model lacks the pointed layers or a table is not found once."""
        names = {layer.name for layer in self.model.layers}
        if not names.issuperset(POINTED_TABLES + POINTED_SCALES):
            return None
        tables = {name: self.model.get_layer(name).get_weights()[0] for name in POINTED_TABLES}
        found: dict[str, list[str]] = {name: [] for name in tables}

        def match(path: str, item: object) -> None:
            if isinstance(item, h5py.Dataset):
                for name, table in tables.items():
                    same = item.shape == table.shape  # row 0 of a table is NaN (never used)
                    if same and np.array_equal(item[()], table, equal_nan=True):
                        found[name].append(path)

        with h5py.File(io.BytesIO(self.entries[self.WEIGHTS]), "r") as weights:
            weights.visititems(match)
        if any(len(paths) != 1 for paths in found.values()):
            return None
        return {name: paths[0] for name, paths in found.items()}

    def saved(self) -> bytes:
        """The model as it is now, in Keras' format."""
        if self.table_paths is None:
            return saved_model(self.model)
        weights = io.BytesIO(self.entries[self.WEIGHTS])
        with h5py.File(weights, "r+") as store:
            for name, path in self.table_paths.items():
                store[path][...] = self.model.get_layer(name).get_weights()[0]
        for layer in self.config["config"]["layers"]:
            if layer["config"]["name"] in POINTED_SCALES:
                layer["config"]["scale"] = self.model.get_layer(layer["config"]["name"]).scale
        entries = {
            **self.entries,
            self.CONFIG: json.dumps(self.config).encode(),
            self.WEIGHTS: weights.getvalue(),
        }
        return keras_file(entries)


def uncertainty_constants(spread: Spread, location: LocationSpread) -> dict[str, Any]:
    """What a logged model needs to give a forecast's distribution without tempcast (its
    `uncertainty.json`, read by serving.py): the table of standardised quantiles by level
    (Spread.table), the location's anomaly spread, calendar months' medians (Jan..Dec) and base
    rate; and, to say where the table came from, the calibrated intervals' coverages and widths.
    JSON keeps every float exactly, so the model's quantiles are tempcast's to the last bit."""
    levels, standard = spread.table()
    return {
        "levels": levels.tolist(),
        "standard_quantiles": standard.tolist(),
        "scale": float(location.scale),
        "medians": np.asarray(location.medians, dtype=float).tolist(),
        "base_rate": float(location.base_rate),
        "coverages": COVERAGES.tolist(),
        "widths": np.asarray(spread.widths, dtype=float).tolist(),
        "note": spread.note,
    }


@dataclass(frozen=True)
class StoredSpread(Spread):
    """A spread read back from a logged model: the table of standardised quantiles it was logged
    with, whatever Spread.table would make of its widths today."""

    levels: np.ndarray
    standard: np.ndarray

    def table(self) -> tuple[np.ndarray, np.ndarray]:
        """(levels, standard quantiles) as logged."""
        return self.levels, self.standard


@dataclass(frozen=True)
class RegisteredModel:
    """A registered version's standalone Keras model and the uncertainty constants it was logged
    with (see uncertainty_constants; None for a version logged before them)."""

    model: keras.Model
    uncertainty: dict[str, Any] | None

    def distribution(self, forecast: np.ndarray, calendar: np.ndarray) -> Distribution | None:
        """The distribution of the model's forecast months (°C, their calendar months 0-11), as
        its pyfunc gives it; None without uncertainty constants."""
        if self.uncertainty is None:
            return None
        constants = self.uncertainty
        spread = StoredSpread(
            widths=np.asarray(constants["widths"], dtype=float),
            scores=0,
            note=constants["note"],
            levels=np.asarray(constants["levels"], dtype=float),
            standard=np.asarray(constants["standard_quantiles"], dtype=float),
        )
        medians = np.asarray(constants["medians"], dtype=float)
        location = LocationSpread(float(constants["scale"]), medians, constants["base_rate"])
        return distribution(spread, location, forecast, calendar)


def log_model(
    run_id: str,
    experiment_id: str,
    params: dict[str, str],
    model_file: bytes,
    example: pd.DataFrame,
    uncertainty: dict[str, Any] | None = None,
) -> ModelInfo:
    """Log a saved Keras model (`model_file`, see saved_model) into a run as a pyfunc model with
    an input example (months and values), carrying the run's `params` and the location's
    `uncertainty` constants (see uncertainty_constants; None logs none). The logged model is
    made first, so that MLflow need not read the run back for its experiment and params, and
    the run's metrics are linked to it as they are logged (see runs.run_metrics), so that
    MLflow has none to copy."""
    logged = mlflow.initialize_logged_model(
        name="model", source_run_id=run_id, params=params, experiment_id=experiment_id
    )
    with tempfile.TemporaryDirectory(prefix="tempcast-model-") as folder:
        path = Path(folder) / KERAS_FILE
        path.write_bytes(model_file)
        artifacts = {KERAS_ARTIFACT: str(path)}
        if uncertainty is not None:
            constants = Path(folder) / UNCERTAINTY_FILE
            constants.write_text(json.dumps(uncertainty))
            artifacts[UNCERTAINTY_ARTIFACT] = str(constants)
        return Model.log(
            artifact_path=None,
            name="model",
            flavor=PyfuncFlavor(),
            run_id=run_id,
            model_id=logged.model_id,
            python_model=str(SERVING_CODE),
            artifacts=artifacts,
            signature=SIGNATURE,
            input_example=example,
            pip_requirements=_pip_requirements(),
            validate_serving_input=False,
        )


def register_model(info: ModelInfo, name: str, version_tags: dict[str, str]) -> str:
    """Register a logged model under `name` with its version's tags, printing nothing (see
    compat.register_version); the version."""
    return register_version(mlflow_client(), name, info, version_tags)


@names_the_store
def load_registered(location: str, model_version: str) -> RegisteredModel:
    """A registered version's Keras model (loaded in Keras' safe mode) and its uncertainty
    constants (None for a version logged before them)."""
    mlflow_client()
    with tempfile.TemporaryDirectory(prefix="tempcast-load-") as folder:
        local = Path(
            mlflow.artifacts.download_artifacts(
                f"models:/{model_name(location)}/{model_version}", dst_path=folder
            )
        )
        (path,) = local.rglob("*.keras")
        model = keras.saving.load_model(path, safe_mode=True, compile=False)
        constants = list(local.rglob(UNCERTAINTY_FILE))
        uncertainty = json.loads(constants[0].read_text()) if constants else None
        return RegisteredModel(model, uncertainty)


def load_version(location: str, model_version: str) -> keras.Model:
    """A registered version's Keras model, loaded in Keras' safe mode."""
    return load_registered(location, model_version).model
