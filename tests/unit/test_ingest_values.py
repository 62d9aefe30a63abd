"""Property-based tests of ingest: hostile values in well-formed CSVs reconcile and never reach
the accepted rows, and location names that get through can neither leave an output folder nor
change a registry or run name. (Arbitrary files: test_ingest_properties.py.)
"""

import gzip
import math
import re
from datetime import date, datetime

import pytest
from hypothesis import event, example, given, settings
from hypothesis import strategies as st

from schemas.observations import (
    MAX_LOCATION_LENGTH,
    TEMPERATURE_RANGE,
    is_station_name,
)
from tasks.data.ingest import (
    REQUIRED_COLUMNS,
)
from tasks.errors import TempcastError

# Sized so that the whole file runs in well under a minute on two shared cores.
from tests.support.ingest_checks import (
    BAD_DATES,
    BOM,
    HOSTILE_NAMES,
    ODD_TEMPERATURES,
    PROPERTY_SETTINGS,
    assert_safe_name,
    assert_sound_result,
    check_then_ingest,
    data_file,
    messy_field,
    valid_dates,
)

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


def spelled_differently(first: dict[str, str], second: dict[str, str]) -> bool:
    """Are these two plain names one station spelled two ways (case, or space for hyphen)? The
    file keeps only the more frequent spelling of such a pair, whatever the dates."""
    names = [row["Location"].strip() for row in (first, second)]
    folded = {name.casefold().replace(" ", "-") for name in names}
    return names[0] != names[1] and len(folded) == 1 and all(map(is_station_name, names))


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


TWO_SPELLINGS = [  # found by CI: the rarer spelling of a station is refused on any date
    {"Date": "2000-01-01", "Location": "00-0000-0", "MinTemp": "0.0", "MaxTemp": "0.0"},
    {"Date": "2000-01-01", "Location": "00 0000-0", "MinTemp": "0.0", "MaxTemp": "0.0"},
]


@settings(max_examples=150, **PROPERTY_SETTINGS)
@given(generated=observation_file())
@example(
    generated=(
        b"Date,Location,MinTemp,MaxTemp\n"
        b"2000-01-01,00-0000-0,0.0,0.0\n"
        b"2000-01-01,00 0000-0,0.0,0.0\n",
        TWO_SPELLINGS,
    )
)
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

    # A clearly valid row whose Date and Location no other row shares, and whose name no other
    # row spells differently, is always accepted.
    accepted_keys = set(
        zip(outcome.accepted["Date"].dt.date, outcome.accepted["Location"], strict=True)
    )
    for number, row in enumerate(rows):
        others = rows[:number] + rows[number + 1 :]
        alone = not any(same_key(row, other) or spelled_differently(row, other) for other in others)
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
