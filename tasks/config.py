"""Configuration: one typed object per concern, passed down explicitly (no hidden globals)."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SelectionMethod = Literal["auto", "article"]


class SelectionRules(BaseModel):
    """How the `auto` selection judges months and locations.

    A leading or trailing month is kept only when at least `min_month_coverage` of the locations
    have data in it; a location is dropped when more than `max_missing_share` of the kept months
    are missing, when one gap is longer than `max_gap_months`, or when it has no data in the
    first or last kept month (a gap at an edge cannot be interpolated).
    """

    model_config = ConfigDict(frozen=True)

    min_month_coverage: float = Field(0.75, gt=0, le=1)
    max_missing_share: float = Field(0.10, ge=0, lt=1)
    max_gap_months: int = Field(3, ge=1)
