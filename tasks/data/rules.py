"""How locations and months are chosen: the method and the rules of the `auto` selection.

Kept apart from the selection itself so that the command line can build its options from these
fields without importing pandas or Prefect.
"""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SelectionMethod = Literal["auto", "article"]


class SelectionRules(BaseModel):
    """How the `auto` selection judges months and locations."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    min_month_coverage: float = Field(
        0.75,
        gt=0,
        le=1,
        description="auto selection: keep a leading or trailing month only when at least this"
        " share of the locations have data in it.",
    )
    max_missing_share: float = Field(
        0.10,
        ge=0,
        lt=1,
        description="auto selection: drop a location with more than this share of the kept"
        " months missing.",
    )
    max_gap_months: int = Field(
        3, ge=1, description="auto selection: drop a location with a longer gap than this."
    )
