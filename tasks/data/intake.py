"""Ingest observation files into the store: read either layout (Kaggle's, or the Bureau's
per-station monthly file), validate by the same contract with the same reject reasons, and
append what is new or changed in one transaction, with where it came from.

Every row read is accounted for: added, changed (a correction: its old values kept as a
revision), unchanged (already stored as it is), or rejected with its reasons; rows missing a
temperature are stored as such (a missing value never replaces an observed one).
"""

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from schemas.observations import location_key
from tasks.calls import step
from tasks.data.bom import file_layout, read_bom_file
from tasks.data.ingest import (
    IngestResult,
    check_data_file,
    read_raw_observations,
    validate_observations,
)
from tasks.data.store import Provenance, Written, append_ingest
from tasks.data.store_reads import stored_locations
from tasks.data.store_tables import VALUES
from tasks.errors import TempcastError
from tasks.logs import run_logger

SHOWN_REJECTS = 5
HASH_CHUNK = 1 << 20


@dataclass(frozen=True)
class FileIngest:
    """One file's ingest: where it came from, what validation made of it, what was written."""

    path: str
    provenance: Provenance
    validated: IngestResult
    written: Written

    def counts(self) -> dict[str, int]:
        """Every row read, by what became of it."""
        repeated = self.written.repeated
        kept = self.validated.rows_accepted + self.validated.rows_missing_temperature
        return {
            "read": self.validated.rows_read,
            "added": len(self.written.added),
            "changed": len(self.written.changed),
            "unchanged": kept if repeated else self.written.unchanged,
            "rejected": self.validated.rows_rejected,
            "missing_temperature": self.validated.rows_missing_temperature,
        }

    def lines(self) -> list[str]:
        """What the ingest did, for people: counts, rejects with reasons, corrected months."""
        name, written = Path(self.path).name, self.written
        if written.repeated:
            return [
                f"{name}: already ingested (ingest {written.ingest_id},"
                f" {written.ingested_at:%Y-%m-%d %H:%M} UTC, same SHA-256): nothing added"
            ]
        c = self.counts()
        reasons = self.validated.rejects_by_reason() if c["rejected"] else {}
        by_reason = " (" + ", ".join(f"{r} {n:,}" for r, n in reasons.items()) + ")"
        lines = [
            f"{name}: ingest {written.ingest_id} ({self.provenance.layout}, sha256"
            f" {self.provenance.sha256[:12]}): {c['read']:,} rows read: {c['added']:,} added,"
            f" {c['changed']:,} changed, {c['unchanged']:,} unchanged, {c['rejected']:,}"
            f" rejected{by_reason if reasons else ''}; {c['missing_temperature']:,} of them"
            " missing a temperature"
        ]
        rejects = self.validated.rejects
        for row in rejects.head(SHOWN_REJECTS).itertuples():
            values = ", ".join(str(getattr(row, column)) for column in VALUES)
            lines.append(f"  rejected record {row.record} ({values}): {row.reason}")
        if len(rejects) > SHOWN_REJECTS:
            lines.append(f"  ... {len(rejects) - SHOWN_REJECTS:,} more rejected rows in the store")
        if len(written.changed):
            lines.append(f"  corrected: {changed_months(written.changed)}")
        return lines

    def table(self) -> list[dict[str, Any]]:
        """Per location and month, the rows read and what became of them (the artifact's rows)."""
        incoming = pd.concat([self.validated.accepted, self.validated.incomplete])
        rejects = self.validated.rejects
        parts = {
            "kept": by_month(incoming["Location"], incoming["Date"].dt.strftime("%Y-%m")),
            "added": by_month(self.written.added["Location"], month_of(self.written.added)),
            "changed": by_month(self.written.changed["Location"], month_of(self.written.changed)),
            "rejected": by_month(rejects["Location"], rejects["Date"].str.strip().str[:7]),
        }
        table = pd.DataFrame(parts).fillna(0).astype(int)
        if self.written.repeated:
            table["added"] = table["changed"] = 0
        table["unchanged"] = table["kept"] - table["added"] - table["changed"]
        table = table.drop(columns="kept").rename_axis(["location", "month"]).reset_index()
        table.insert(0, "ingest", self.written.ingest_id)
        table.insert(0, "file", Path(self.path).name)
        return table.to_dict(orient="records")


def month_of(rows: pd.DataFrame) -> pd.Series:
    """Each row's month, 'YYYY-MM'."""
    return pd.to_datetime(rows["Date"]).dt.strftime("%Y-%m")


def by_month(locations: pd.Series, months: pd.Series) -> pd.Series:
    """How many rows per location and month."""
    frame = pd.DataFrame({"location": locations.astype(str), "month": months.astype(str)})
    return frame.groupby(["location", "month"]).size()


def changed_months(changed: pd.DataFrame) -> str:
    """'Alpha 2016-06 (2 days), Bravo 2016-06 (1 day)'."""
    counts = by_month(changed["Location"], month_of(changed))
    return ", ".join(
        f"{location} {month} ({days} day{'s' if days > 1 else ''})"
        for (location, month), days in counts.items()
    )


def sha256_of(path: Path) -> str:
    """The file's SHA-256, as stored bytes (a gzip file is hashed as it is)."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def check_observation_file(path: Path, location: str | None = None) -> None:
    """Fail fast, before any flow starts, when a file cannot be ingested at all: absent, of
    neither layout, a Bureau header without the temperature columns, `--location` for a Kaggle
    file (whose rows name their stations)."""
    if file_layout(path) == "bom":
        read_bom_file(path, location)
        return
    if location is not None:
        raise TempcastError(
            f"data file {path}: --location applies to Bureau files only (the rows name theirs)"
        )
    check_data_file(path)


def read_observation_file(
    path: Path, location: str | None = None
) -> tuple[IngestResult, Provenance]:
    """Read and validate a file of either layout; its validation and provenance (the Bureau's
    station number where its file names one). `location` names a Bureau file's station; for a
    Kaggle file, whose rows name theirs, it is an error."""
    check_observation_file(path, location)
    if file_layout(path) == "bom":
        bom = read_bom_file(path, location)
        provenance = Provenance(path.name, sha256_of(path), "bom", bom.station)
        return validate_observations(bom.rows, path), provenance
    provenance = Provenance(path.name, sha256_of(path), "kaggle")
    return validate_observations(read_raw_observations(path), path), provenance


def refuse_other_spellings(path: Path, names: list[str], uri: str) -> None:
    """A station the store knows under another spelling of the same key ('albury' beside
    'Albury') would get a second model under one name: the file is refused, naming both."""
    known = {location_key(name): name for name in stored_locations(uri)}
    for name in names:
        stored = known.get(location_key(name), name)
        if stored != name:
            raise TempcastError(
                f"data file {path}: location {name!r} is stored as {stored!r};"
                f" spell it so (Bureau files: --location {stored})"
            )


@step("ingest-file")
def ingest_file(path: Path, uri: str, location: str | None = None) -> FileIngest:
    """Read, validate and store one file (one transaction); what became of its rows."""
    validated, provenance = read_observation_file(path, location)
    incoming = pd.concat([validated.accepted, validated.incomplete], ignore_index=True)
    refuse_other_spellings(path, sorted(incoming["Location"].unique()), uri)
    counts = {
        "rows_read": validated.rows_read,
        "rows_rejected": validated.rows_rejected,
        "rows_missing_temperature": validated.rows_missing_temperature,
    }
    written = append_ingest(uri, provenance, incoming, validated.rejects, counts)
    result = FileIngest(str(path), provenance, validated, written)
    for line in result.lines():
        run_logger().info("%s", line)
    return result
