"""The run parameters that train, retrain and backfill share: one model for the flows and the CLI.

The settings that decide a model (training settings, selection and its rules) are logged as the
parameters of every run and recorded with every registered version; their digest identifies
"the same settings" for units of work and for promotion.
"""

import hashlib
import json
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from tasks.data.rules import SelectionMethod, SelectionRules
from tasks.model.settings import RecipeName, TrainingConfig, TrainingOverrides, training_config
from tasks.places import Places

RunnerKind = Literal["thread", "dask"]


class RunSettings(BaseModel):
    """Which locations, which data and settings, where the work runs and where results go."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    locations: list[str] | None = Field(
        None, description="Locations to train (any letter case). Default: every kept location."
    )
    recipe: RecipeName = Field(
        "default",
        description="default: smooth climatology plus a validated network correction;"
        " article: the tutorial, exactly.",
    )
    selection: SelectionMethod = Field(
        "auto",
        description="auto: locations and months chosen from the data; article: the tutorial's.",
    )
    rules: SelectionRules = Field(
        default_factory=SelectionRules, description="How the auto selection judges the data."
    )
    training: TrainingOverrides = Field(
        default_factory=TrainingOverrides,
        description="Training settings that override the recipe's.",
    )
    task_runner: RunnerKind = Field(
        "thread",
        description="Where the fanned-out work runs (per location; backfill: per month): threads"
        " here, or Dask.",
    )
    concurrency: int = Field(
        2, ge=1, description="Units at a time (locations; backfill: months); Dask: local workers."
    )
    dask_address: str | None = Field(
        None,
        description="Scheduler of an existing Dask cluster (default $TEMPCAST_DASK_ADDRESS, else a"
        " local cluster of `concurrency` workers).",
    )
    data: str | None = Field(
        None,
        description="Observations CSV (plain or gzip), or the observation store's database URL"
        " (sqlite:///observations.db). Default: $TEMPCAST_DATA,"
        " data/weatherAUS.csv, ../shared/data/weatherAUS.csv.gz, else downloaded.",
    )
    out: str | None = Field(
        None,
        description="Folder for the result files (default outputs/, backfill outputs/backfill/).",
    )

    def config(self) -> TrainingConfig:
        """The recipe with the overrides applied."""
        return training_config(self.recipe, self.training)

    def places(self) -> Places:
        """Where this run reads and writes: its options, else the environment, else the
        defaults (see tasks.places)."""
        return Places.from_environment(self.data, self.out, self.dask_address)


def model_settings(config: TrainingConfig, run: RunSettings) -> dict[str, Any]:
    """What decides a model: the training settings, the selection and its rules."""
    return {**config.model_dump(), "selection": run.selection, **run.rules.model_dump()}


def settings_digest(settings: dict[str, Any]) -> str:
    """A short hash of model settings: equal settings, equal digest."""
    text = json.dumps(settings, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]
