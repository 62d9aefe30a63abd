"""Property-based tests of ingest: arbitrary files and values never get past it unchecked.

Whatever the file holds, ingest either raises one TempcastError whose one-line message names the
file, or returns a split that reconciles (read = accepted + rejected + missing) and whose accepted
rows keep the Observations contract. Location names that get through can neither leave an output
folder nor change a registry or run name. Files are written in a fresh temporary folder per
example (hypothesis replays a test many times, so function-scoped fixtures would be shared).
"""

import gzip
import math
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from schemas.observations import (
    MAX_LOCATION_LENGTH,
    REJECTION_REASONS,
    TEMPERATURE_RANGE,
    Observations,
    is_station_name,
)
from tasks.data.ingest import (
    GZIP_MAGIC,
    REQUIRED_COLUMNS,
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


# --- 1. arbitrary files ----------------------------------------------------------------------

PIECES = st.sampled_from(FIELD_PIECES)
valid_dates = st.dates(date(1990, 1, 1), date(2030, 12, 31)).map(lambda day: day.isoformat())
messy_field = st.one_of(st.lists(PIECES, max_size=5).map("".join), st.text(max_size=8))
plausible_fields = st.tuples(
    st.one_of(valid_dates, valid_dates, st.sampled_from([" 2017-01-03", "2017-02-30", "x"])),
    st.sampled_from(["Albury", "Alice Springs", " Albury ", "Canberra", "../x", "", "a\x00b"]),
    st.sampled_from(["1", "-3.5", "-30", "0", "5", "NA", "", "1e999", "70", "nan"]),
    st.sampled_from(["20", "60", "7.5", "25", "NA", "-inf", "1"]),
).map(list)


@st.composite
def messy_line(draw: st.DrawFn) -> str:
    """A row: mostly plausible values, some with a piece of trouble spliced in, some anything;
    with too few or too many fields now and then."""
    kind = draw(st.sampled_from(["plausible", "plausible", "plausible", "spliced", "anything"]))
    if kind == "anything":
        return ",".join(draw(st.lists(messy_field, max_size=8)))
    fields = draw(plausible_fields)
    if kind == "spliced":
        at = draw(st.integers(0, len(fields) - 1))
        fields[at] = draw(st.sampled_from(["", fields[at]])) + draw(PIECES)
    return ",".join(fields[: draw(st.sampled_from([4, 4, 4, 4, 2]))])


@st.composite
def messy_header(draw: st.DrawFn) -> str:
    """The required columns, often as is, else in any order with extras, spaced, quoted, lost or
    doubled."""
    names = list(REQUIRED_COLUMNS)
    if draw(st.booleans()):
        return ",".join(names + draw(st.lists(st.sampled_from(["Rain", "x"]), max_size=2)))
    names = draw(st.permutations([*names, *draw(st.lists(st.sampled_from(["Rain", "", "Date "])))]))
    if draw(st.booleans()):
        names = [draw(st.sampled_from([n, f" {n} ", f'"{n}"', n.lower(), n + n])) for n in names]
    if draw(st.booleans()):
        del names[draw(st.integers(0, len(names) - 1))]
    return ",".join(names)


@st.composite
def messy_csv_text(draw: st.DrawFn) -> str:
    """A header and rows of messy fields, with any line ending and odd field counts."""
    newline = draw(st.sampled_from(["\n", "\r\n", "\r"]))
    lines = [draw(messy_header()), *draw(st.lists(messy_line(), max_size=8))]
    if draw(st.booleans()):  # a row as wide as a spreadsheet gone wrong
        lines.insert(draw(st.integers(1, len(lines))), ",".join(["1"] * draw(st.integers(5, 3000))))
    return draw(st.sampled_from(["", BOM, BOM + BOM])) + newline.join(lines) + newline


@st.composite
def spliced_bytes(draw: st.DrawFn) -> bytes:
    """CSV text with random bytes (binary, NUL, invalid UTF-8) spliced in somewhere."""
    text = draw(messy_csv_text()).encode("utf-8")
    at = draw(st.integers(0, len(text)))
    return text[:at] + draw(st.binary(min_size=1, max_size=16)) + text[at:]


csv_bytes = messy_csv_text().map(lambda text: text.encode("utf-8"))
any_file_content = st.one_of(
    csv_bytes,
    csv_bytes,
    csv_bytes,
    st.binary(max_size=300),
    st.text(max_size=300).map(lambda text: text.encode("utf-8")),
    st.binary(max_size=64).map(lambda tail: GZIP_MAGIC + tail),
    messy_csv_text().map(lambda text: gzip.compress(text.encode("utf-8"))),
    messy_csv_text().map(lambda text: gzip.compress(text.encode("utf-8"))[:-5]),
    st.binary(max_size=64).map(gzip.compress),
    spliced_bytes(),
)


@settings(max_examples=300, **PROPERTY_SETTINGS)
@given(content=any_file_content)
@example(content=b"Date,Location,MinTemp,MaxTemp\n2017-01-01,Albury,1,2,5\n")
@example(content=b"Date,Location,MinTemp,MaxTemp\n2017-01-01,Albury,1,2,5,6\n")
@example(content=b"Date,Location,MinTemp,MaxTemp\nX,2017-01-01,Albury,1,2\n")
@example(content=b"Date,Location,MinTemp,MaxTemp\n2017-01-01,Alb\x00ury,1,2\n")
@example(content=b"\xef\xbb\xbfDate,Location,MinTemp,MaxTemp\r\n2017-01-01,Albury,1,2\r\n")
@example(content=b"\xef\xbb\xbf\xef\xbb\xbfDate,Location,MinTemp,MaxTemp,Date \n1,1,1,1,1\n")
def test_any_file_gives_one_clear_error_or_a_reconciled_split(content):
    with data_file(content) as path:
        outcome = check_then_ingest(path)
        if isinstance(outcome, TempcastError):
            assert_clear_error(outcome, path)
            event(f"error: {str(outcome).split(': ', 1)[1].split('(')[0]}")
        else:
            assert_sound_result(outcome)
            event(f"result: {min(outcome.rows_accepted, 2)}+ accepted")


# --- 2. well-formed CSVs with hostile values ---------------------------------------------------

plain_names = st.from_regex(r"[A-Za-z0-9]{1,10}([ -][A-Za-z0-9]{1,6}){0,2}", fullmatch=True)
hostile_names = st.sampled_from(HOSTILE_NAMES)
location_values = st.one_of(
    plain_names,
    hostile_names,
    st.text(max_size=12),
    st.tuples(st.sampled_from([" ", "\t", "  ", "\u3000", "\x1f"]), plain_names).map("".join),
    st.tuples(plain_names, st.sampled_from([" ", "\t", " \r", "\u00a0"])).map("".join),
    st.just("x" * MAX_LOCATION_LENGTH),
)
date_values = st.one_of(
    valid_dates,
    st.sampled_from(BAD_DATES),
    st.text(max_size=12),
)
clean_temperatures = st.integers(-300, 600).map(lambda tenths: str(tenths / 10))
temperature_values = st.one_of(
    clean_temperatures,
    st.floats().map(repr),
    st.floats(allow_nan=False, allow_infinity=False).map(str),
    st.sampled_from(ODD_TEMPERATURES),
    st.text(max_size=6),
)


@st.composite
def observation_rows(draw: st.DrawFn) -> list[dict[str, str]]:
    """Rows over a few dates and locations, so exact and conflicting duplicates are common.

    About half the rows are plausible (a real date, a plain name, MinTemp <= MaxTemp in range),
    so that accepted rows and duplicates among them are frequent; the rest mix in anything.
    """
    good_dates = draw(st.lists(valid_dates, min_size=1, max_size=3))
    good_names = draw(st.lists(plain_names, min_size=1, max_size=3))
    dates = good_dates + draw(st.lists(date_values, max_size=2))
    locations = good_names + draw(st.lists(location_values, max_size=3))
    rows: list[dict[str, str]] = []
    for _ in range(draw(st.integers(1, 14))):
        kind = draw(st.sampled_from(["plausible", "plausible", "any", "any", "copy"]))
        if kind == "copy" and rows:  # an exact copy, or the same key measured again
            row = dict(draw(st.sampled_from(rows)))
            if draw(st.booleans()):
                row["MaxTemp"] = draw(temperature_values)
        elif kind == "plausible":
            low, high = sorted(
                draw(st.lists(clean_temperatures, min_size=2, max_size=2)), key=float
            )
            row = {
                "Date": draw(st.sampled_from(good_dates)),
                "Location": draw(st.sampled_from(good_names)),
                "MinTemp": low,
                "MaxTemp": high,
            }
        else:
            row = {
                "Date": draw(st.sampled_from(dates)),
                "Location": draw(st.sampled_from(locations)),
                "MinTemp": draw(temperature_values),
                "MaxTemp": draw(temperature_values),
            }
        rows.append(row)
    return rows


def csv_line(fields: list[str], quote_all: bool = False) -> str:
    """One CSV record, quoted as RFC 4180 says (the csv module leaves a bare CR unquoted when
    the line terminator is LF, which makes a different file than the rows meant)."""
    return ",".join(
        '"' + field.replace('"', '""') + '"'
        if quote_all or any(char in field for char in ',"\r\n')
        else field
        for field in fields
    )


@st.composite
def observation_file(draw: st.DrawFn) -> tuple[bytes, list[dict[str, str]]]:
    """A correctly quoted CSV of `observation_rows`: columns in any order, extra columns, any
    line ending, sometimes a BOM or gzip."""
    rows = draw(observation_rows())
    extra_names = st.sampled_from(["Rainfall", "Sunshine", "RainToday", "x"])
    extras = draw(st.lists(extra_names, unique=True))
    header = draw(st.permutations([*REQUIRED_COLUMNS, *extras]))
    quote_all, newline = draw(st.booleans()), draw(st.sampled_from(["\n", "\r\n"]))
    lines = [csv_line(header, quote_all)]
    for row in rows:
        fields = [row[name] if name in row else draw(messy_field) for name in header]
        lines.append(csv_line(fields, quote_all))
    content = (draw(st.sampled_from(["", BOM])) + newline.join(lines) + newline).encode("utf-8")
    return (gzip.compress(content) if draw(st.booleans()) else content), rows


def parsed_date(text: str) -> date | None:
    """The date a raw value stands for, read independently of pandas (None when unreadable)."""
    try:
        return datetime.strptime(text.strip(), "%Y-%m-%d").date()
    except ValueError:
        return None


def parsed_temperature(text: str) -> float | None:
    """The temperature a raw value stands for when it is a plain finite decimal, else None."""
    if not re.fullmatch(r"-?[0-9]{1,3}(\.[0-9]{1,2})?", text.strip()):
        return None
    value = float(text.strip())
    return value if math.isfinite(value) else None


def clearly_valid(row: dict[str, str]) -> bool:
    """A row that every rule must accept on its own: real date, plain name, temperatures present,
    finite, in range, MinTemp <= MaxTemp."""
    low, high = TEMPERATURE_RANGE
    temps = [parsed_temperature(row[column]) for column in ("MinTemp", "MaxTemp")]
    return (
        parsed_date(row["Date"]) is not None
        and is_station_name(row["Location"].strip())
        and all(value is not None and low <= value <= high for value in temps)
        and temps[0] <= temps[1]
    )


def same_key(first: dict[str, str], second: dict[str, str]) -> bool:
    """Could these two rows share Date and Location once read?"""
    day = parsed_date(first["Date"])
    return (
        day is not None
        and day == parsed_date(second["Date"])
        and first["Location"].strip() == second["Location"].strip()
    )


def stands_for(row: dict[str, str], accepted: dict) -> bool:
    """Is `accepted` what this generated row says, read independently of pandas?"""

    def same_number(text: str, value: float) -> bool:
        try:
            return float(text.strip()) == value
        except ValueError:
            return False

    return (
        row["Location"].strip() == accepted["Location"]
        and parsed_date(row["Date"]) == accepted["Date"].date()
        and same_number(row["MinTemp"], accepted["MinTemp"])
        and same_number(row["MaxTemp"], accepted["MaxTemp"])
    )


def is_subsequence(items: list, sequence: list) -> bool:
    """True when `items` appear in `sequence` in the same order (not necessarily adjacent)."""
    remaining = iter(sequence)
    return all(any(item == candidate for candidate in remaining) for item in items)


@settings(max_examples=150, **PROPERTY_SETTINGS)
@given(generated=observation_file())
def test_hostile_values_reconcile_and_never_reach_accepted_rows(generated):
    content, rows = generated
    with data_file(content) as path:
        outcome = check_then_ingest(path)
    assert not isinstance(outcome, TempcastError), f"well-formed file refused: {outcome}"
    assert_sound_result(outcome)
    assert outcome.rows_read == len(rows)

    # Rejects are generated rows, in file order, with their original values untouched.
    written = [tuple(row[column] for column in REQUIRED_COLUMNS) for row in rows]
    rejects = outcome.rejects
    kept_aside = list(zip(*(rejects[column] for column in REQUIRED_COLUMNS), strict=True))
    assert is_subsequence(kept_aside, written), kept_aside

    # A name that is not plain once trimmed is always rejected, with that reason.
    hostile = [row for row in rows if not is_station_name(row["Location"].strip())]
    named = rejects.loc[[("invalid_location" in r.split(";")) for r in rejects["reason"]]]
    assert len(named) == len(hostile), (named, hostile)
    assert not any(is_station_name(name.strip()) for name in named["Location"])

    # Every accepted row is a generated row with both temperatures present, as written.
    for accepted in outcome.accepted.to_dict("records"):
        assert any(stands_for(row, accepted) for row in rows), accepted

    # A clearly valid row whose Date and Location no other row shares is always accepted.
    accepted_keys = set(
        zip(outcome.accepted["Date"].dt.date, outcome.accepted["Location"], strict=True)
    )
    for number, row in enumerate(rows):
        alone = not any(same_key(row, other) for other in rows[:number] + rows[number + 1 :])
        if clearly_valid(row) and alone:
            assert (parsed_date(row["Date"]), row["Location"].strip()) in accepted_keys, row
    event(f"accepted {min(outcome.rows_accepted, 3)}+, rejected {min(len(rejects), 3)}+")
    for reason in rejects["reason"].str.split(";").explode():
        event(f"reason {reason}")


# --- 3. names that get through are safe ------------------------------------------------------


@settings(max_examples=300, **PROPERTY_SETTINGS)
@given(location=st.one_of(location_values, st.text()))
def test_any_name_the_rule_accepts_is_a_safe_registry_name_and_path(location):
    if is_station_name(location):
        assert_safe_name(location)


@settings(max_examples=100, **PROPERTY_SETTINGS)
@given(location=st.one_of(location_values, st.text(max_size=80)))
def test_a_location_is_accepted_only_as_a_plain_name_and_then_is_safe(location):
    row = csv_line(["2017-01-01", location, "10.5", "20.5"])
    text = csv_line(list(REQUIRED_COLUMNS)) + "\n" + row + "\n"
    with data_file(text.encode("utf-8")) as path:
        outcome = check_then_ingest(path)
    assert not isinstance(outcome, TempcastError), str(outcome)
    assert_sound_result(outcome)
    accepted = outcome.accepted["Location"].tolist()
    if is_station_name(location.strip()):
        assert accepted == [location.strip()]
    else:
        assert accepted == []
        assert outcome.rejects["reason"].tolist() == ["invalid_location"]
    for name in accepted:
        assert_safe_name(name)


@pytest.mark.parametrize("location", ["../x", "..", "a/b", "/etc", "a\nb", "x:1", ""])
def test_the_safety_check_itself_bites(location):
    """The properties above are only as good as `assert_safe_name`: it must refuse these."""
    with pytest.raises(AssertionError):
        assert_safe_name(location)
