"""Ingest: find, read and validate the daily observations file.

This is the only module that reads input files. Every row read ends up in exactly one of three
places: accepted (used), rejected (kept aside with its original values and a reason), or missing
a temperature (empty/NA, counted but not used), so that
rows_read == rows_accepted + rows_rejected + rows_missing_temperature.
"""

import csv
import gzip
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import pandera.pandas as pa

from schemas.observations import (
    REJECTION_REASONS,
    TEMPERATURE_COLUMNS,
    Observations,
    ParsedObservations,
    missing_flag,
)
from tasks.calls import step
from tasks.data.fetch import FETCH_TARGET, Source, data_sources, fetch_data
from tasks.data.store_reads import check_store, stored_observations
from tasks.data.store_tables import REJECT_COLUMNS, VALUES, is_database_url, shown
from tasks.errors import TempcastError
from tasks.logs import run_logger
from tasks.places import DATA_VARIABLE, Places

REQUIRED_COLUMNS = ("Date", "Location", "MinTemp", "MaxTemp")
MISSING_TOKENS = ("", "NA", "N/A", "NULL")
DATA_ENV_VARIABLE = DATA_VARIABLE
DEFAULT_DATA_PATHS = (Path("data/weatherAUS.csv"), Path("../shared/data/weatherAUS.csv.gz"))
PROJECT_ROOT = Path(__file__).resolve().parents[2]
GZIP_MAGIC = b"\x1f\x8b"
DATE_FORMAT = "%Y-%m-%d"
FIRST_RECORD = 1  # data records are numbered from 1; the header is not one


@dataclass(frozen=True)
class IngestResult:
    """The outcome of reading and validating one observations file (or reading the store:
    `path` is then its URL); `incomplete`: the valid rows missing a temperature."""

    path: Path | str
    accepted: pd.DataFrame
    rejects: pd.DataFrame
    rows_read: int
    rows_missing_temperature: int
    last_date: pd.Timestamp | None
    incomplete: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=VALUES))

    @property
    def rows_accepted(self) -> int:
        """Rows used downstream."""
        return len(self.accepted)

    @property
    def rows_rejected(self) -> int:
        """Rows kept aside with a reason."""
        return len(self.rejects)

    def counts(self) -> dict[str, int]:
        """The reconciliation counts, as reported."""
        return {
            "rows_read": self.rows_read,
            "rows_accepted": self.rows_accepted,
            "rows_rejected": self.rows_rejected,
            "rows_missing_temperature": self.rows_missing_temperature,
        }

    def rejects_by_reason(self) -> dict[str, int]:
        """How many rejected rows carry each reason (a row may carry several)."""
        reasons = self.rejects["reason"].str.split(";").explode()
        return {str(k): int(v) for k, v in reasons.value_counts().sort_index().items()}


def found_data_path(explicit: str | Path | None = None) -> Path | str | None:
    """Where the observations are, without fetching: `--data`, then $TEMPCAST_DATA, then the
    first default place that has a file; None when no default place has one.

    An explicit path or variable is returned as given (a wrong one is an error later, never
    silently replaced; a database URL as a string: the observation store); the defaults are
    looked up relative to the working directory, then the project.
    """
    given = explicit or Places.from_environment().data  # an empty option means "not given"
    if given:
        return given if is_database_url(given) else Path(given)
    for base in (Path.cwd(), PROJECT_ROOT):
        for candidate in DEFAULT_DATA_PATHS:
            if (base / candidate).is_file():
                return (base / candidate).resolve()
    return None


def resolve_data_path(
    explicit: str | Path | None = None, fetch: bool = True, sources: list[Source] | None = None
) -> Path | str:
    """Find the observations file (found_data_path), else (with `fetch`) download it into
    `data/weatherAUS.csv` under the working directory from `sources` (default: data_sources()).

    When nothing is found and nothing can be fetched, the TempcastError names the places looked
    at and every copy tried, in one line.
    """
    found = found_data_path(explicit)
    if found is not None:
        return found
    looked = f"looked for {', '.join(str(p) for p in DEFAULT_DATA_PATHS)}"
    if not fetch:
        raise TempcastError(
            f"no data file found: pass --data PATH or set {DATA_ENV_VARIABLE} ({looked})"
        )
    try:
        return fetch_data(Path.cwd() / FETCH_TARGET, sources or data_sources()).resolve()
    except TempcastError as error:
        raise TempcastError(f"no data file found ({looked}) and {error}") from None


def _compression(path: Path) -> str | None:
    """'gzip' when the file starts with the gzip magic number, whatever its name."""
    with path.open("rb") as handle:
        return "gzip" if handle.read(2) == GZIP_MAGIC else None


def _undecodable(path: Path, error: UnicodeDecodeError) -> TempcastError:
    """The error for a file that is not UTF-8 text, naming the first bad byte."""
    byte = error.object[error.start : error.start + 1].hex()
    return TempcastError(f"data file {path}: not UTF-8 text (byte 0x{byte} cannot be decoded)")


def _refuse_repeated_columns(path: Path) -> None:
    """A required column named twice in the header makes the file ambiguous: refuse it.

    pandas renames a repeated column ('Date' -> 'Date.1'), so the header is read here as it is,
    each name as pandas sees it (spaces around it and byte-order marks ignored).
    """
    opener = gzip.open if _compression(path) == "gzip" else open
    with opener(path, "rt", encoding="utf-8-sig", newline="") as handle:
        header = [name.replace("\ufeff", "").strip() for name in next(csv.reader(handle), [])]
    for name in REQUIRED_COLUMNS:
        if header.count(name) > 1:
            raise TempcastError(
                f"data file {path}: required column {name!r} appears more than once"
            )


def read_raw_observations(path: Path, nrows: int | None = None) -> pd.DataFrame:
    """Read the required columns as untouched strings, in any order, ignoring other columns.

    Raises TempcastError naming the file (and the column) when the file cannot be used at all:
    absent, empty, header only, a required column missing, not a CSV, or not decodable.
    `nrows` limits the read, for a quick check before a flow starts.
    """
    if not path.is_file():
        raise TempcastError(
            f"data file {path}: not found" if not path.exists() else f"data file {path}: not a file"
        )
    try:
        frame = pd.read_csv(
            path,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            usecols=lambda name: name.strip() in REQUIRED_COLUMNS,
            index_col=False,  # a row longer than the header must not turn a column into the index
            compression=_compression(path),
            encoding="utf-8-sig",
            nrows=nrows,
        )
    except pd.errors.EmptyDataError:
        raise TempcastError(f"data file {path}: is empty") from None
    except UnicodeDecodeError as error:
        raise _undecodable(path, error) from None
    except (pd.errors.ParserError, gzip.BadGzipFile, EOFError, zlib.error, OSError) as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise TempcastError(f"data file {path}: not a readable CSV file ({reason})") from None
    frame.columns = [name.strip() for name in frame.columns]
    _refuse_repeated_columns(path)
    missing = [name for name in REQUIRED_COLUMNS if name not in frame.columns]
    if missing:
        raise TempcastError(
            f"data file {path}: required column {missing[0]!r} is missing"
            f" (needs {', '.join(REQUIRED_COLUMNS)})"
        )
    if frame.empty:
        raise TempcastError(f"data file {path}: has a header but no data rows")
    return frame[list(REQUIRED_COLUMNS)]


def check_data_file(path: Path | str) -> Path | str:
    """Fail fast, before any flow starts, when the file (or store) cannot be used at all.

    Checks the header and first rows, and that the whole file decodes as UTF-8 (a fast pass
    without parsing). Rarer problems deeper in the file are still caught inside the flow.
    """
    if is_database_url(path):
        return check_store(str(path))
    read_raw_observations(path, nrows=100)
    opener = gzip.open if _compression(path) == "gzip" else open
    try:
        with opener(path, "rb") as handle:
            handle.read().decode("utf-8")
    except UnicodeDecodeError as error:
        raise _undecodable(path, error) from None
    except (gzip.BadGzipFile, EOFError, zlib.error, OSError) as error:
        raise TempcastError(f"data file {path}: cannot be read ({error})") from None
    return path


def _is_missing(values: pd.Series) -> pd.Series:
    """True where a raw value is empty or an NA marker."""
    return values.str.upper().isin(MISSING_TOKENS)


def parse_observations(raw: pd.DataFrame) -> pd.DataFrame:
    """Turn raw strings into typed columns (NaT/NaN where unreadable) plus empty/NA flags."""
    stripped = raw.apply(lambda column: column.str.strip())
    parsed = pd.DataFrame(
        {
            "record": raw.index.to_numpy() + FIRST_RECORD,
            "Date": pd.to_datetime(stripped["Date"], format=DATE_FORMAT, errors="coerce"),
            "Location": stripped["Location"],
        },
        index=raw.index,
    )
    for column in TEMPERATURE_COLUMNS:
        missing = _is_missing(stripped[column])
        values = pd.to_numeric(stripped[column].where(~missing), errors="coerce")
        parsed[column] = values.astype("float64")
        parsed[missing_flag(column)] = missing
    return parsed


def find_rejections(parsed: pd.DataFrame) -> pd.Series:
    """Validate lazily (every failure in one pass) and return the reasons of each failing row.

    The result is indexed by the failing rows; a row with several problems lists them all,
    separated by ';', in the order of REJECTION_REASONS.
    """
    try:
        ParsedObservations.validate(parsed, lazy=True)
    except pa.errors.SchemaErrors as errors:
        cases = errors.failure_cases
        row_cases = cases[cases["index"].notna()]
        if len(row_cases) < len(cases):
            problems = "; ".join(cases.loc[cases["index"].isna(), "check"].astype(str).unique())
            raise RuntimeError(f"parsed observations break the schema itself: {problems}") from None
        return (
            row_cases.drop_duplicates(["index", "check"])
            .assign(order=lambda cases: cases["check"].map(REJECTION_REASONS.index))
            .sort_values(["index", "order"])
            .groupby("index", sort=True)["check"]
            .agg(";".join)
            .rename("reason")
        )
    return pd.Series(dtype=str, name="reason")


def validate_observations(raw: pd.DataFrame, path: Path) -> IngestResult:
    """Split raw rows into accepted, rejected (with reasons) and missing-temperature rows."""
    parsed = parse_observations(raw)
    reasons = find_rejections(parsed)
    rejected = parsed.index.isin(reasons.index)
    missing = parsed[missing_flag("MinTemp")] | parsed[missing_flag("MaxTemp")]
    kept = parsed[~rejected]
    accepted = Observations.validate(
        kept.loc[~missing[~rejected], ["Date", "Location", "MinTemp", "MaxTemp"]].reset_index(
            drop=True
        )
    )
    rejects = raw.loc[reasons.index].astype(str)
    rejects.insert(0, "record", parsed.loc[reasons.index, "record"])
    rejects["reason"] = reasons
    return IngestResult(
        path=path,
        accepted=accepted,
        rejects=rejects.reset_index(drop=True),
        rows_read=len(raw),
        rows_missing_temperature=int(missing[~rejected].sum()),
        last_date=kept["Date"].max() if len(kept) else None,
        incomplete=kept.loc[missing[~rejected], VALUES].reset_index(drop=True),
    )


def read_store(uri: str) -> IngestResult:
    """The observation store's rows as an ingest of one file would give them: those with both
    temperatures accepted (checked by the same contract), the others counted as missing one,
    the rows kept aside at ingest as the rejects."""
    rows, rejects = stored_observations(uri)
    missing = rows[list(TEMPERATURE_COLUMNS)].isna().any(axis=1)
    accepted = Observations.validate(rows[~missing].reset_index(drop=True))
    return IngestResult(
        path=shown(uri),
        accepted=accepted,
        rejects=rejects.astype({name: str for name in REJECT_COLUMNS if name != "record"}),
        rows_read=len(rows) + len(rejects),
        rows_missing_temperature=int(missing.sum()),
        last_date=rows["Date"].max() if len(rows) else None,
        incomplete=rows[missing].reset_index(drop=True),
    )


@step("ingest-observations")
def ingest_observations(path: Path | str) -> IngestResult:
    """Read and validate one observations file (or read the store a database URL names),
    logging the reconciliation."""
    result = (
        read_store(str(path))
        if is_database_url(path)
        else validate_observations(read_raw_observations(Path(path)), Path(path))
    )
    run_logger().info(
        "read %d rows from %s: %d accepted, %d rejected, %d missing a temperature",
        result.rows_read,
        path,
        result.rows_accepted,
        result.rows_rejected,
        result.rows_missing_temperature,
    )
    return result
