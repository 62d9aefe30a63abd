"""What an MLflow store holds, as plain data that two stores can be compared by: runs (named by
their run name and parent's name), their params, metric names with their number of steps, tags,
artifact files and dataset inputs; logged models; registered models, their versions and aliases.

Values that differ between two otherwise equal runs (ids, times, hosts, process ids, paths of
the store, source code locations) are left out or replaced by the name of what they point to.
"""

import json
import re
from pathlib import Path
from typing import Any

from mlflow.tracking import MlflowClient

# Tags MLflow or tempcast set whose values name this process, this machine or this moment.
VOLATILE_TAGS = {
    "tempcast.host",
    "tempcast.pid",
    "mlflow.user",
    "mlflow.source.name",
    "mlflow.source.type",
    "mlflow.source.git.commit",
    "mlflow.source.git.repoURL",
    "mlflow.source.git.branch",
    "mlflow.log-model.history",
    "mlflow.parentRunId",
    "mlflow.modelVersions",
    "tempcast.parent_key",
}


def artifact_files(client: MlflowClient, run_id: str, path: str | None = None) -> list[str]:
    """Every artifact file of a run, as paths under its artifact root."""
    files = []
    for entry in client.list_artifacts(run_id, path):
        if entry.is_dir:
            files.extend(artifact_files(client, run_id, entry.path))
        else:
            files.append(entry.path)
    return sorted(files)


def run_inventory(client: MlflowClient, run: Any, names: dict[str, str]) -> dict[str, Any]:
    """One run: its name (after its parent's), status, params, metric steps, tags, artifact
    files and dataset inputs."""
    metrics = {
        key: len(client.get_metric_history(run.info.run_id, key)) for key in run.data.metrics
    }
    tags = {k: v for k, v in run.data.tags.items() if k not in VOLATILE_TAGS}
    inputs = run.inputs.dataset_inputs if run.inputs else []
    return {
        "name": names[run.info.run_id],
        "status": run.info.status,
        "params": dict(sorted(run.data.params.items())),
        "metric_steps": dict(sorted(metrics.items())),
        "tags": dict(sorted(tags.items())),
        "artifacts": artifact_files(client, run.info.run_id),
        "datasets": sorted(
            (
                d.dataset.name,
                d.dataset.digest,
                d.dataset.source_type,
                tuple(sorted((t.key, t.value) for t in d.tags)),
            )
            for d in inputs
        ),
    }


def logged_models(client: MlflowClient, experiment: str, names: dict[str, str]) -> list[dict]:
    """Every logged model: its name, the run that logged it, its tags, params, metric names
    and files."""
    found = []
    for model in client.search_logged_models([experiment]):
        found.append(
            {
                "name": model.name,
                "run": names.get(model.source_run_id, ""),
                "status": str(model.status),
                "tags": {
                    k: v
                    for k, v in sorted(model.tags.items())
                    if k not in VOLATILE_TAGS or k == "mlflow.modelVersions"
                },
                "params": dict(sorted(model.params.items())),
                "metrics": sorted((m.key, m.step) for m in model.metrics or []),
                "files": sorted(
                    entry.path for entry in client.list_logged_model_artifacts(model.model_id)
                ),
            }
        )
    return sorted(found, key=lambda model: (model["run"], model["name"]))


def registry_inventory(client: MlflowClient, names: dict[str, str]) -> list[dict]:
    """Every registered model: tags, description, aliases, and its versions (their run's name,
    tags and description)."""
    found = []
    for model in client.search_registered_models():
        versions = client.search_model_versions(f"name = '{model.name}'")
        found.append(
            {
                "name": model.name,
                "tags": dict(sorted(model.tags.items())),
                "description": model.description or "",
                "aliases": dict(sorted((k, str(v)) for k, v in model.aliases.items())),
                "versions": sorted(
                    (
                        {
                            "version": str(v.version),
                            "run": names.get(v.run_id, ""),
                            "status": v.status,
                            "tags": dict(sorted(v.tags.items())),
                            "description": v.description or "",
                        }
                        for v in versions
                    ),
                    key=lambda v: int(v["version"]),
                ),
            }
        )
    return sorted(found, key=lambda model: model["name"])


def store_inventory(client: MlflowClient, experiment_name: str = "tempcast") -> dict[str, Any]:
    """Everything the tempcast experiment and the registry hold, comparable across stores."""
    experiment = client.get_experiment_by_name(experiment_name).experiment_id
    runs = client.search_runs([experiment], max_results=10000)
    names = {run.info.run_id: run.info.run_name for run in runs}
    names = {  # a child run by its parent's name too: every retrain has a run per location
        run.info.run_id: "/".join(
            filter(
                None,
                [names.get(run.data.tags.get("mlflow.parentRunId", "")), names[run.info.run_id]],
            )
        )
        for run in runs
    }
    inventory = [run_inventory(client, run, names) for run in runs]
    return {
        "runs": sorted(inventory, key=lambda run: run["name"]),
        "logged_models": logged_models(client, experiment, names),
        "registry": registry_inventory(client, names),
    }


DECIMAL = re.compile(r"-?\d+\.\d+(e-?\d+)?")


def masked(value: Any) -> Any:
    """A value with its decimal numbers replaced by `#` (scores a few float operations in
    another order may change), nested lists and mappings alike."""
    if isinstance(value, str):
        return DECIMAL.sub("#", value)
    if isinstance(value, dict):
        return {key: masked(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [masked(item) for item in value]
    return value


# What a training's outcome decides, not the store's structure: the promotion decisions (and so
# where `champion` points), the validation's verdict, which champions did worse than climatology
# or covered too little, and the per-epoch curves (as long as the epochs validation chose).
DECISION_TAGS = {"promoted", "promotion", "tempcast.promoted", "tempcast.promotion"}
CHAMPION_TAGS = {"tempcast.live_worse_than_climatology", "tempcast.live_coverage_below_65"}
EPOCH_CURVES = {"loss", "val_loss"}
OUTCOME_NOTES = [
    (re.compile(r"; the correction [^;]*$"), "; <verdict>"),  # tempcast.validation
    (re.compile(r"\n\n\d+ champion\(s\) [^\n]*"), ""),  # the parent run's description
    (re.compile(r"[+-]?(\d+|#)%"), "#%"),  # live coverage and skill (masked or not)
]


def epoch_curve(item: Any) -> bool:
    """Whether a list item is a logged model's metric of an epoch curve: [name, step]."""
    return isinstance(item, list) and len(item) == 2 and item[0] in EPOCH_CURVES


def outcome_free(value: Any, key: str = "") -> Any:
    """An inventory (or part of one, under `key`) with what training outcomes decide replaced by
    placeholders or left out (see DECISION_TAGS, CHAMPION_TAGS, EPOCH_CURVES, OUTCOME_NOTES): two
    stores compare by their structure, whatever the models learned."""
    if isinstance(value, dict):
        kept = {k: outcome_free(v, k) for k, v in value.items() if k not in EPOCH_CURVES}
        if "aliases" in kept and "champion" in kept["aliases"]:
            kept["aliases"] = {**kept["aliases"], "champion": "<decided>"}
        return kept
    if isinstance(value, list):
        return [outcome_free(item, key) for item in value if not epoch_curve(item)]
    if not isinstance(value, str):
        return value
    if key in DECISION_TAGS:
        return "<decided>"
    if key in CHAMPION_TAGS:
        return "<champions>"
    if key == "description" and value.startswith("as_of "):  # a version's: its decision last
        return value.rsplit(" | ", 1)[0] + " | <decided>"
    for pattern, replacement in OUTCOME_NOTES:
        value = pattern.sub(replacement, value)
    return value


def two_retrains(folder: Path) -> dict[str, Any]:
    """What the store holds after two retrains of three tiny locations on a fresh store, free of
    training outcomes (outcome_free): the first registers and promotes every location; the
    second, a year later with the same settings, scores the first one's forecasts and decides
    each promotion. Paths of `folder` are written as `<folder>`."""
    from flows.retrain import retrain_flow
    from tests.support.tiny import observations_file, tiny_settings

    data = observations_file(folder, ("Alpha", "Bravo", "Charlie"), end="2014-12-31")
    retrain_flow(as_of="2013-12", settings=tiny_settings(data, folder / "first"))
    retrain_flow(as_of="2014-12", settings=tiny_settings(data, folder / "second"))
    inventory = json.loads(json.dumps(store_inventory(MlflowClient()), default=str))
    inventory = masked(json.loads(json.dumps(inventory).replace(str(folder), "<folder>")))
    return outcome_free(inventory)
