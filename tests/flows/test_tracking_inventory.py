"""What a retrain leaves in MLflow (runs, params, metric steps, tags, artifacts, datasets, logged
models, registered versions, their tags and aliases) is what it left before tracking was made
cheaper: retrain_inventory.json was written by tempcast before that change (issue 15), with
tests.support.inventory.two_retrains, and written again when forecasts gained their
distributions (issue 22: the probabilistic test and live metrics, the live-coverage tag, each
model's uncertainty.json and its signature's quantile columns). It holds the store's structure,
not what training decided (issue 25: inventory.outcome_free, applied to the file as it was):
which champions did worse than climatology, the promotion decisions and where `champion`
points, the validation's verdict and the per-epoch curves change with any change of the model,
and are checked where they are the point (test_promotion, test_retrain_flow, test_fitting)."""

import json
import re
from pathlib import Path
from typing import Any

from tests.support.inventory import two_retrains

BEFORE = Path(__file__).with_name("retrain_inventory.json")
# Settings added since the file was written: a new parameter, and so a new settings digest
# and new unit keys (hashes that include it).
ADDED_SETTINGS = {"epoch_windows"}
HASHES_OF_SETTINGS = {"settings_digest", "tempcast.unit"}


def without_added_settings(inventory: Any) -> Any:
    """The inventory without the added settings: not among the parameters, not in the
    `settings` tags, and every hash of settings written as `<digest>`."""
    if isinstance(inventory, list):
        return [without_added_settings(item) for item in inventory]
    if not isinstance(inventory, dict):
        return inventory
    kept = {}
    for key, value in inventory.items():
        if key in ADDED_SETTINGS:
            continue
        if key in HASHES_OF_SETTINGS:
            value = "<digest>"
        elif key == "settings":  # JSON with its decimals masked (so not JSON any more)
            for name in ADDED_SETTINGS:
                value = re.sub(rf', "{name}": [^,}}]*', "", value)
        kept[key] = without_added_settings(value)
    return kept


def test_a_retrain_leaves_the_same_mlflow_contents_as_before(tracking_store):
    before = json.loads(BEFORE.read_text())
    now = json.loads(json.dumps(two_retrains(tracking_store)))
    assert without_added_settings(now) == without_added_settings(before)
