"""Property-based tests of ingest: arbitrary files never get past it unchecked.

Whatever the file holds, ingest either raises one TempcastError whose one-line message names the
file, or returns a split that reconciles (read = accepted + rejected + missing) and whose accepted
rows keep the Observations contract. Files are written in a fresh temporary folder per example
(hypothesis replays a test many times, so function-scoped fixtures would be shared). Hostile
values in well-formed files, and location names: test_ingest_values.py.
"""

import gzip

from hypothesis import event, example, given, settings
from hypothesis import strategies as st

from tasks.data.ingest import (
    GZIP_MAGIC,
    REQUIRED_COLUMNS,
)
from tasks.errors import TempcastError

# Sized so that the whole file runs in well under a minute on two shared cores.
from tests.support.ingest_checks import (
    BOM,
    PIECES,
    PROPERTY_SETTINGS,
    assert_clear_error,
    assert_sound_result,
    check_then_ingest,
    data_file,
    messy_field,
    valid_dates,
)

# --- 1. arbitrary files ----------------------------------------------------------------------

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
