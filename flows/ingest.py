"""The ingest flow: new observation files into the store ($TEMPCAST_OBSERVATIONS_URI, default
sqlite:///observations.db), one transaction per file, with a table artifact of what each added,
rejected and corrected, and what the corrections touch (backtest origins, published forecasts,
the backfill that would redo them)."""

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from prefect import flow
from prefect.artifacts import create_table_artifact

from tasks.data.corrections import PUBLISHED_COLUMNS, Affected, affected_by
from tasks.data.intake import FileIngest, ingest_file
from tasks.data.months import last_complete_month
from tasks.data.store import date_span, store_uri
from tasks.publish.history import history_exists, history_uri, read_forecasts
from tasks.settings import RunSettings

ARTIFACT_KEY = "observations-ingest"


@dataclass(frozen=True)
class IngestReport:
    """Each file's ingest and what its corrections touch."""

    files: list[FileIngest]
    affected: Affected

    def lines(self) -> list[str]:
        """What the ingest did, for people."""
        return [line for ingest in self.files for line in ingest.lines()] + self.affected.lines()


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
    return affected_by(changed, months, published_forecasts(), config.horizon, needed)


@flow(name="ingest")
def ingest_flow(files: list[str], location: str | None = None) -> IngestReport:
    """Validate and store each file (a file stored before adds nothing), then publish a table of
    what each added, rejected and corrected per location and month."""
    uri = store_uri()
    done = [ingest_file(Path(path), uri, location) for path in files]
    report = IngestReport(done, corrections(done, uri, RunSettings()))
    create_table_artifact(
        key=ARTIFACT_KEY,
        table=[row for ingest in done for row in ingest.table()],
        description="\n\n".join(report.lines()),
    )
    return report
