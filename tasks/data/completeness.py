"""When is a month complete: every location that reported the month before has observations to
the month's last day (or a set share of them). An ingest that completes a month is what starts
the monthly retrain (the `tempcast.observations.month-complete` event)."""

import pandas as pd


def month_is_complete(days: pd.DataFrame, month: pd.Period, share: float = 1.0) -> bool:
    """Whether `month` is complete in `days` (location, date): at least `share` of the
    locations with a day in the month before have one on the month's last day (False when no
    location reported the month before)."""
    months = days["date"].dt.to_period("M")
    reporters = set(days.loc[months == month - 1, "location"])
    if not reporters:
        return False
    last_day = month.end_time.normalize()
    done = set(days.loc[days["date"] == last_day, "location"]) & reporters
    return len(done) >= share * len(reporters)


def newly_complete_month(
    days: pd.DataFrame, candidates: list[str], ingests: list[int], share: float = 1.0
) -> str | None:
    """The latest of the `candidates` (months the ingests added days to) that is complete now
    and was not before the `ingests` (their ids; `days`, from the month before the first
    candidate to the month after the last, carries each day's `first_ingest_id`), unless the
    month after it was complete before (a late file for a month the retrain has passed): one
    month, so that a history loaded at once starts one retrain, not one per month."""
    before = days[~days["first_ingest_id"].isin(ingests)]
    for month in sorted({pd.Period(m, freq="M") for m in candidates}, reverse=True):
        if month_is_complete(days, month, share) and not any(
            month_is_complete(before, m, share) for m in (month, month + 1)
        ):
            return str(month)
    return None
