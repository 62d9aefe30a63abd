"""Impute: fill interior gaps of each location's monthly series, with a mask of what was filled."""

from dataclasses import dataclass

import pandas as pd

from schemas.monthly import CompleteTemperatures
from tasks.calls import step
from tasks.errors import TempcastError


@dataclass(frozen=True)
class Imputed:
    """The complete table and a same-shaped mask, True where a value was imputed."""

    table: pd.DataFrame
    mask: pd.DataFrame

    @property
    def cells(self) -> int:
        """How many cells were imputed."""
        return int(self.mask.to_numpy().sum())


@step("impute-gaps")
def impute_gaps(table: pd.DataFrame) -> Imputed:
    """Interpolate interior gaps linearly along the months.

    A one-month gap gets the mean of its neighbours (the recipe's rule); longer gaps a straight
    line between the months around them. A gap at an edge cannot be filled and is an error
    naming the locations (the selection step drops such locations beforehand).
    """
    mask = table.isna()
    filled = table.interpolate(method="linear", axis=1, limit_area="inside")
    unfilled = filled.index[filled.isna().any(axis=1)]
    if len(unfilled):
        raise TempcastError(
            f"cannot impute the gaps at the edges of {', '.join(map(str, unfilled))}"
        )
    return Imputed(table=CompleteTemperatures.validate(filled), mask=mask)
