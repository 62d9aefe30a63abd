"""The ingest flow: new observation files into the store ($TEMPCAST_OBSERVATIONS_URI, default
sqlite:///observations.db), one transaction per file, with a table artifact of what each added,
rejected and corrected, and what the corrections touch (backtest origins, published forecasts,
the backfill that would redo them).

Two Prefect events tell the rest: `tempcast.observations.month-complete` (payload: `month`) when
the files complete a month, which starts the retrain deployment as of that month (its trigger in
flows/deployments.py and prefect.yaml); `tempcast.observations.corrected` (payload: `months`,
per location, and `backfill`, the command that would redo the origins), which starts nothing:
data engineers decide, and the Prefect UI shows it."""

from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd
from prefect import flow
from prefect.artifacts import create_table_artifact
from prefect.events import emit_event

from tasks.data.completeness import newly_complete_month
from tasks.data.corrections import PUBLISHED_COLUMNS, Affected, affected_by
from tasks.data.intake import FileIngest, ingest_file, month_of
from tasks.data.months import last_complete_month
from tasks.data.store_reads import date_span, days_between
from tasks.data.store_tables import shown, store_uri
from tasks.publish.history import history_exists, history_uri, read_forecasts
from tasks.settings import RunSettings

ARTIFACT_KEY = "observations-ingest"
MONTH_COMPLETE = "tempcast.observations.month-complete"
CORRECTED = "tempcast.observations.corrected"
RESOURCE_ID = "tempcast.observations"


@dataclass(frozen=True)
class IngestReport:
    """Each file's ingest and what its corrections touch."""

    files: list[FileIngest]
    affected: Affected
    complete: str | None = None

    def lines(self) -> list[str]:
        """What the ingest did, for people."""
        lines = [line for ingest in self.files for line in ingest.lines()] + self.affected.lines()
        if self.complete:
            lines.append(f"Month {self.complete} is complete: {MONTH_COMPLETE} emitted")
        return lines


def published_forecasts() -> pd.DataFrame:
    """The forecast history's (location, as_of, target month) rows; none without a history."""
    uri = history_uri()
    if not history_exists(uri):
        return pd.DataFrame(columns=PUBLISHED_COLUMNS)
    return read_forecasts(uri)[PUBLISHED_COLUMNS]


def corrections(files: list[FileIngest], uri: str, settings: RunSettings) -> Affected:
    """What the rows these ingests changed touch (read from the history only when some did)."""
    changed = pd.concat([ingest.written.changed for ingest in files], ignore_index=True)
    span = date_span(uri) if len(changed) else None
    if span is None:
        return Affected.nothing()
    config = settings.config()
    months = (str(span[0].to_period("M")), str(last_complete_month(span[1])))
    needed = config.timestep + config.horizon
    affected = affected_by(changed, months, published_forecasts(), config.horizon, needed)
    return replace(affected, data=shown(uri))


def completed_month(files: list[FileIngest], uri: str, share: float) -> str | None:
    """The month these ingests complete, if one (tasks.data.completeness)."""
    added = pd.concat([ingest.written.added for ingest in files], ignore_index=True)
    if added.empty:
        return None
    candidates = sorted(set(month_of(added)))
    first = pd.Period(candidates[0], freq="M") - 1
    last = pd.Period(candidates[-1], freq="M") + 1
    days = days_between(uri, first.start_time, last.end_time)
    ids = [ingest.written.ingest_id for ingest in files if not ingest.written.repeated]
    return newly_complete_month(days, candidates, ids, share)


def emit_events(report: IngestReport, uri: str) -> None:
    """Tell Prefect of a completed month (which starts the retrain) and of corrections."""
    resource = {"prefect.resource.id": RESOURCE_ID, "prefect.resource.name": shown(uri)}
    if report.complete:
        emit_event(event=MONTH_COMPLETE, resource=resource, payload={"month": report.complete})
    if report.affected.months:
        payload = {"months": report.affected.months, "backfill": report.affected.command()}
        emit_event(event=CORRECTED, resource=resource, payload=payload)


@flow(name="ingest")
def ingest_flow(
    files: list[str],
    location: str | None = None,
    complete_share: float = 1.0,
    store: str | None = None,
) -> IngestReport:
    """Validate and store each file (a file stored before adds nothing) in the `store` (None:
    where tasks.places says), publish a table of what each added, rejected and corrected per
    location and month, and emit the events of a completed month (`complete_share`: the share
    of the locations that reported the month before that must reach its last day) and of
    corrections."""
    uri = store or store_uri()
    done = [ingest_file(Path(path), uri, location) for path in files]
    affected = corrections(done, uri, RunSettings())
    report = IngestReport(done, affected, completed_month(done, uri, complete_share))
    emit_events(report, uri)
    create_table_artifact(
        key=ARTIFACT_KEY,
        table=[row for ingest in done for row in ingest.table()],
        description="\n\n".join(report.lines()),
    )
    return report
