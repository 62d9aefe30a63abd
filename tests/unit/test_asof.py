"""as_of resolution: requested month, scheduled date, stale data, partial last month."""

from datetime import UTC, datetime

import pandas as pd
import pytest

from tasks.data.asof import resolve_as_of
from tasks.errors import TempcastError

ENDS_MID_JUNE = pd.Timestamp("2017-06-25")
ENDS_END_MAY = pd.Timestamp("2017-05-31")


def test_without_a_request_or_schedule_the_last_complete_month_is_used():
    assert resolve_as_of(None, ENDS_MID_JUNE).label == "2017-05"  # June is partial
    assert resolve_as_of(None, ENDS_END_MAY).label == "2017-05"
    assert resolve_as_of(None, ENDS_END_MAY).source == "data"


def test_a_requested_month_is_used_when_the_data_covers_it():
    assert resolve_as_of("2015-12", ENDS_MID_JUNE).label == "2015-12"


def test_a_requested_month_after_the_data_is_an_error():
    with pytest.raises(TempcastError, match=r"as_of 2017-06 is after the last complete month"):
        resolve_as_of("2017-06", ENDS_MID_JUNE)
    with pytest.raises(TempcastError, match="not a month"):
        resolve_as_of("June 2017", ENDS_MID_JUNE)


def test_a_scheduled_run_uses_the_month_before_its_date_in_sydney():
    # 03:00 on 2 June in Sydney is 17:00 on 1 June UTC: the month before is May.
    scheduled = datetime(2017, 6, 1, 17, 0, tzinfo=UTC)
    as_of = resolve_as_of(None, ENDS_MID_JUNE, scheduled)
    assert (as_of.label, as_of.source, as_of.stale) == ("2017-05", "schedule", False)


def test_a_scheduled_run_on_stale_data_uses_the_last_complete_month_and_says_so():
    scheduled = datetime(2026, 12, 1, 16, 0, tzinfo=UTC)  # 2 December 2026, 03:00 in Sydney
    as_of = resolve_as_of(None, ENDS_MID_JUNE, scheduled)
    assert as_of.label == "2017-05" and as_of.stale
    assert "stale data: the schedule asks for 2026-11" in as_of.note
