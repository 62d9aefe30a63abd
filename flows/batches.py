"""The common start of the train and retrain flows: the locations chosen, the run context and
the parent run of their batch of units, then the batch run on the fan-out runner."""

from dataclasses import dataclass

from tasks.data.asof import AsOf
from tasks.data.locations import choose_locations
from tasks.data.prepared import Prepared
from tasks.model.settings import TrainingConfig
from tasks.pipeline.plan import batch_key
from tasks.pipeline.runners import fan_out_runner
from tasks.pipeline.units import Batch, UnitResults, UnitSpec, run_units
from tasks.places import Places
from tasks.settings import RunSettings, model_settings
from tasks.tracking.runs import RunContext, start_parent_run


@dataclass(frozen=True)
class Started:
    """A started batch: its settings, prepared data, chosen locations, run context, parent run."""

    run: RunSettings
    places: Places
    prepared: Prepared
    chosen: list[str]
    context: RunContext
    parent_run_id: str

    def run_units(self, spec: UnitSpec, force: bool) -> UnitResults:
        """Every chosen location's unit, fanned out on the runner the settings name."""
        config = self.run.config()
        with fan_out_runner(self.run, self.places) as runner:
            batch = Batch(config, self.context, self.parent_run_id, runner, force)
            return run_units(self.prepared, self.chosen, batch, spec)


def start_units(
    kind: str,
    run: RunSettings,
    places: Places,
    prepared: Prepared,
    force: bool,
    cutoff: AsOf | None = None,
) -> Started:
    """Choose the locations, and start (or, unless `force`, resume) the flow run's parent run
    as of `cutoff` (default: the last month of the prepared data)."""
    config: TrainingConfig = run.config()
    chosen = choose_locations(prepared.locations, run.locations)
    as_of = cutoff.label if cutoff else prepared.months[-1]
    context = RunContext(model_settings(config, run), as_of, prepared.digest, kind)
    tags = {"tempcast.kind": f"{kind}-parent", "tempcast.as_of": as_of}
    if cutoff is not None:
        tags["tempcast.stale"] = str(cutoff.stale)
    key = None if force else batch_key(kind, as_of, context.settings, prepared.digest, chosen)
    parent_run_id = start_parent_run(f"{kind} {as_of}", context.params("all"), tags, key)
    return Started(run, places, prepared, chosen, context, parent_run_id)
