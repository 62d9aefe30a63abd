"""What a correction of stored observations touches: the backtest origins whose fit or scoring
windows include a changed month, and the published forecasts made from it or scored against it,
with the `tempcast backfill` command that would redo the origins.

Pure functions: the forecast history's rows are given by the caller (the data stage reads no
published results), as are the model's horizon and the months one origin needs.
"""

from dataclasses import dataclass

import pandas as pd

from tasks.data.months import month_range

PUBLISHED_COLUMNS = ["location", "as_of", "month"]


@dataclass(frozen=True)
class Affected:
    """The changed months per location, the origins they touch, the published forecasts
    (location, as_of, forecasts) they touch, and the store they were read from (as the
    backfill's `--data`; None: the backfill's default data)."""

    months: dict[str, list[str]]
    origins: list[str]
    published: pd.DataFrame
    data: str | None = None

    @classmethod
    def nothing(cls) -> "Affected":
        """No correction: nothing touched."""
        return cls({}, [], pd.DataFrame(columns=["location", "as_of", "forecasts"]))

    def command(self) -> str | None:
        """The backfill that would redo the touched origins of the corrected locations."""
        if not self.origins:
            return None
        data = f"--data {self.data} " if self.data else ""
        locations = " ".join(f"--location {name}" for name in self.months)
        span = f"--from {self.origins[0]} --to {self.origins[-1]}"
        return f"tempcast backfill {data}{span} {locations}"

    def lines(self) -> list[str]:
        """For people: the months changed, the origins and published forecasts they touch, and
        the command that would redo the origins."""
        if not self.months:
            return []
        changed = "; ".join(f"{name} {', '.join(months)}" for name, months in self.months.items())
        origins = f"{self.origins[0]}..{self.origins[-1]}" if self.origins else "none"
        published = (
            ", ".join(f"{row.location} as of {row.as_of}" for row in self.published.itertuples())
            or "none"
        )
        lines = [
            f"Corrected months: {changed}",
            f"  backtest origins whose fit or scoring windows include them: {origins}",
            f"  published forecasts made from them or scored against them: {published}",
        ]
        command = self.command()
        return [*lines, f"  redo the backtest: {command}"] if command else lines


def affected_by(
    changed: pd.DataFrame,
    store_months: tuple[str, str],
    published: pd.DataFrame,
    horizon: int,
    needed: int,
) -> Affected:
    """What the changed rows (Location, Date) touch. An origin's fit sees every month up to it
    and it is scored on the `horizon` months after it, so a changed month C touches the origins
    from C - horizon to the store's last complete month (`store_months`: its first and last
    complete month), none before the first that leaves `needed` months. A published forecast
    (location, as_of, target month) is touched when its location's changed month is its target
    or comes no later than its as_of."""
    if changed.empty:
        return Affected.nothing()
    months = (
        pd.DataFrame({"location": changed["Location"], "month": changed["Date"].dt.to_period("M")})
        .drop_duplicates()
        .sort_values(["location", "month"])
    )
    first, last = (pd.Period(month, freq="M") for month in store_months)
    start = max(months["month"].min() - horizon, first + needed - 1)
    origins = month_range(start, last) if start <= last else []
    return Affected(
        {name: [str(m) for m in group["month"]] for name, group in months.groupby("location")},
        origins,
        touched_forecasts(months, published),
    )


def touched_forecasts(months: pd.DataFrame, published: pd.DataFrame) -> pd.DataFrame:
    """Per location and as_of, how many published forecasts a changed month touches."""
    rows = published[PUBLISHED_COLUMNS].merge(months, on="location", suffixes=("", "_changed"))
    as_of = pd.PeriodIndex(rows["as_of"], freq="M")
    target = pd.PeriodIndex(rows["month"], freq="M")
    changed = pd.PeriodIndex(rows["month_changed"], freq="M")
    hit = rows[(target == changed) | (as_of >= changed)].drop_duplicates(PUBLISHED_COLUMNS)
    counts = hit.groupby(["location", "as_of"]).size().rename("forecasts")
    return counts.reset_index().sort_values(["location", "as_of"], ignore_index=True)
