"""What a batch of units is asked to do and what it shares: the spec, the settings (and their
digest, computed once), the parent run, the task runner, `force`; and what the batch produced."""

import functools
import json
from dataclasses import dataclass, field

import pandas as pd
from prefect.task_runners import TaskRunner

from tasks.data.locations import LocationSeries
from tasks.model.settings import TrainingConfig
from tasks.pipeline.plan import unit_key
from tasks.pipeline.promotion import Decision
from tasks.publish.forecasts import FORECAST_COLUMNS
from tasks.publish.reports import metrics_table
from tasks.settings import settings_digest
from tasks.tracking.registry import SETTINGS_DIGEST_TAG, SETTINGS_TAG
from tasks.tracking.runs import RunContext, TrackedLocation


@dataclass(frozen=True)
class UnitSpec:
    """What a flow asks of its units beyond fitting, evaluating and tracking them."""

    kind: str
    register: bool = True
    evaluate: bool = True
    models: bool = True
    promote: bool = False
    forecast: bool = False
    truth: pd.DataFrame | None = None
    tags: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Batch:
    """What every unit of one batch shares: the training settings, the run context (model
    settings, as_of, data digest, kind), the parent run, the runner of the fanned-out work, and
    whether finished units are trained again (`force`)."""

    config: TrainingConfig
    context: RunContext
    parent_run_id: str
    runner: TaskRunner
    force: bool = False

    @functools.cached_property
    def digest(self) -> str:
        """The digest of the model settings: "the same settings" for units and promotion."""
        return settings_digest(self.context.settings)

    @functools.cached_property
    def model_tags(self) -> dict[str, str]:
        """The tags every registered version of the batch carries: its settings and digest."""
        settings = json.dumps(self.context.settings, default=str)
        return {SETTINGS_TAG: settings, SETTINGS_DIGEST_TAG: self.digest}

    def key(self, kind: str, location: str) -> str:
        """The unit key of a location in this batch (see plan.unit_key)."""
        context = self.context
        return unit_key(kind, location, context.as_of, self.digest, context.data_digest)


@dataclass
class UnitResults:
    """What a batch of units produced: tracked runs, promotion decisions, forecasts, backtest
    rows, which units were trained or reused, and why any location failed."""

    series: dict[str, LocationSeries]
    tracked: dict[str, TrackedLocation] = field(default_factory=dict)
    decisions: dict[str, Decision] = field(default_factory=dict)
    forecasts: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=FORECAST_COLUMNS))
    backtest: list[pd.DataFrame] = field(default_factory=list)
    trained: list[str] = field(default_factory=list)
    reused: list[str] = field(default_factory=list)
    failures: dict[str, str] = field(default_factory=dict)

    @property
    def table(self) -> pd.DataFrame:
        """The metrics table of the tracked locations."""
        return metrics_table(list(self.tracked.values()))
