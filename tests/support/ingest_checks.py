"""Shared pieces of the property-based ingest tests: hypothesis settings, a fresh data file per
example, the checks every outcome must pass, and hostile names, dates and temperatures."""

import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

from hypothesis import HealthCheck
from hypothesis import strategies as st

from schemas.observations import (
    REJECTION_REASONS,
    TEMPERATURE_RANGE,
    Observations,
    is_station_name,
)
from tasks.data.ingest import (
    IngestResult,
    check_data_file,
    ingest_observations,
)
from tasks.errors import TempcastError
from tasks.tracking.store import model_name

# Sized so that the whole file runs in well under a minute on two shared cores.
PROPERTY_SETTINGS = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large],
}
REGISTRY_NAME = re.compile(r"^tempcast-[a-z0-9-]+$")
BOM = "\ufeff"


# --- helpers ---------------------------------------------------------------------------------


@contextmanager
def data_file(content: bytes, name: str = "obs.csv") -> Iterator[Path]:
    """A file holding `content`, in a temporary folder removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="tempcast-prop-") as folder:
        path = Path(folder) / name
        path.write_bytes(content)
        yield path


def check_then_ingest(path: Path) -> IngestResult | TempcastError:
    """What the CLI does: the quick check, then the full ingest. Only TempcastError is caught,
    so an exception of any other kind fails the property."""
    try:
        check_data_file(path)
        return ingest_observations.fn(path)
    except TempcastError as error:
        return error


def assert_clear_error(error: TempcastError, path: Path) -> None:
    """One line, naming the file."""
    message = str(error)
    assert message.strip(), "empty error message"
    assert len(message.splitlines()) == 1, f"not one line: {message!r}"
    assert str(path) in message, f"file not named: {message!r}"


def assert_safe_name(location: str) -> None:
    """A location can alter neither a registry/run name nor the folder it is written into."""
    assert REGISTRY_NAME.fullmatch(model_name(location)), model_name(location)
    with tempfile.TemporaryDirectory() as folder:
        for base in (Path(folder), Path(folder) / "outputs" / "run 1", Path("outputs")):
            inside = (base / location).resolve()
            assert inside.parent == base.resolve(), (location, base, inside)


def assert_sound_result(result: IngestResult) -> None:
    """The split reconciles, every reject has reasons, and accepted rows keep the contract."""
    counts = result.counts()
    assert min(counts.values()) >= 0, counts
    assert counts["rows_read"] == (
        counts["rows_accepted"] + counts["rows_rejected"] + counts["rows_missing_temperature"]
    ), counts
    assert {"record", "reason"} <= set(result.rejects.columns)
    for reason in result.rejects["reason"]:
        assert isinstance(reason, str) and reason, f"reject without a reason: {reason!r}"
        assert set(reason.split(";")) <= set(REJECTION_REASONS), reason
    accepted = result.accepted
    Observations.validate(accepted, lazy=True)
    assert all(is_station_name(name) for name in accepted["Location"]), accepted["Location"]
    low, high = TEMPERATURE_RANGE
    for column in ("MinTemp", "MaxTemp"):
        assert accepted[column].between(low, high).all(), accepted[column]
    assert not (accepted["MinTemp"] > accepted["MaxTemp"]).any()
    assert not accepted.duplicated(["Date", "Location"]).any()
    assert accepted["Date"].notna().all()
    for location in accepted["Location"].unique():
        assert_safe_name(location)


# fmt: off
FIELD_PIECES = (
    ",", '"', '""', "\n", "\r", "\r\n", "\x00", BOM, " ", "\t", ";", "NA", "", "1", "-3.5",
    "1e999", "nan", "inf", "2017-01-01", "2017-02-30", "Albury", "../x", "Zürich", "\U0001f600",
    "\x1f\x8b", "\\", "'", "Date", "Location", "MinTemp", "MaxTemp"
)
HOSTILE_NAMES = (
    "../x", "..", ".", "/", "a/b", "/etc/passwd", "C:\\", "C:\\Windows\\x", "a\\b", "a\x00b",
    "a\nb", "Alb\rury", "a\tb", "Zürich", "Ａlbury", "\u202eevil", "\u200bAlbury", "x" * 65,
    "Robert'); DROP TABLE runs;--", "a;b", "**bold**", "[a](http://x)", "<b>x</b>",
    "<script>alert(1)</script>", "Al  bury", "-Albury", "Albury-", "a--b", "a - b", "a.b",
    "~", "$HOME", "%2e%2e%2f", "tempcast-x@1", "a:b", "a@b", "", " ", "NA", "nan"
)
BAD_DATES = (
    "2017-02-30", "2017-13-01", "2017-00-10", "2017-04-31", "yesterday", "", "NA", "2017",
    "01/02/2017", "2017-01-01T00:00", " 2017-01-03 ", "2017-1-4", "99999-01-01"
)
ODD_TEMPERATURES = (
    "", "NA", "na", "N/A", "NULL", " NA ", " ", "-0", "-0.0", "+5", "1e999", "-1e999",
    "60", "-30", "60.000001", "-30.1", "1e308", "1,5", "abc", "0x10", "1_0", "∞", "١٢",
    "99999999999999999999999999", "-" + "9" * 400, "nan", "-inf", "Infinity", "True"
)
# fmt: on


valid_dates = st.dates(date(1990, 1, 1), date(2030, 12, 31)).map(lambda day: day.isoformat())
PIECES = st.sampled_from(FIELD_PIECES)
messy_field = st.one_of(st.lists(PIECES, max_size=5).map("".join), st.text(max_size=8))
