"""Imputation: one-month gaps get the neighbours' mean, longer gaps a line, a mask records both."""

import numpy as np
import pandas as pd
import pytest

from tasks.data.impute import impute_gaps
from tasks.data.months import month_range
from tasks.errors import TempcastError


def frame(values: list[float]) -> pd.DataFrame:
    """A one-location table."""
    months = month_range("2010-01", "2010-12")[: len(values)]
    return pd.DataFrame([values], index=pd.Index(["A"], name="Location"), columns=months)


def test_one_month_gap_is_the_mean_of_its_neighbours_and_longer_gaps_are_linear():
    result = impute_gaps.fn(frame([10.0, np.nan, 14.0, 20.0, np.nan, np.nan, 11.0]))
    assert result.table.iloc[0].tolist() == pytest.approx([10, 12, 14, 20, 17, 14, 11])
    assert result.mask.iloc[0].tolist() == [False, True, False, False, True, True, False]
    assert result.cells == 3
    assert not result.table.isna().any().any()


def test_a_gap_at_an_edge_is_an_error_naming_the_location():
    with pytest.raises(TempcastError, match="edges of A"):
        impute_gaps.fn(frame([np.nan, 12.0, 13.0]))
