"""Windows: shapes, values, the out-of-time split and the too-few-months error."""

import numpy as np
import pytest

from tasks.errors import TempcastError
from tasks.windows import make_windows, split_windows


@pytest.mark.parametrize(("timestep", "horizon"), [(18, 18), (12, 6), (3, 1)])
def test_windows_have_the_requested_shapes_and_slide_by_one_month(timestep, horizon):
    series = np.arange(60, dtype=float)
    windows = make_windows(series, timestep, horizon)
    assert windows.x.shape == (60 - timestep - horizon + 1, timestep, 1)
    assert windows.y.shape == (60 - timestep - horizon + 1, horizon, 1)
    assert windows.x[1, 0, 0] == 1 and windows.y[0, 0, 0] == timestep
    assert windows.y[-1, -1, 0] == 59


def test_the_recipe_split_gives_25_training_windows_and_one_test_window():
    split = split_windows(np.arange(96, dtype=float), 18, 18)
    assert len(split.train) == 25 and len(split.test) == 1
    assert split.test.x[0, 0, 0] == 60 and split.test.y[0, -1, 0] == 95
    assert split.train.y.max() < 60, "no training target may fall in the test months"
    assert split.test.starts.tolist() == [60]


def test_too_few_months_says_how_many_are_needed_and_available():
    with pytest.raises(TempcastError, match=r"Canberra: too few months .* needs 72, has 70"):
        split_windows(np.zeros(70), 18, 18, location="Canberra")
