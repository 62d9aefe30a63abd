"""Windows: shapes and values, and none when the series is shorter than one window."""

import numpy as np
import pytest

from tasks.data.windows import make_windows


@pytest.mark.parametrize(("timestep", "horizon"), [(18, 18), (12, 6), (3, 1)])
def test_windows_have_the_requested_shapes_and_slide_by_one_month(timestep, horizon):
    series = np.arange(60, dtype=float)
    windows = make_windows(series, timestep, horizon)
    assert windows.x.shape == (60 - timestep - horizon + 1, timestep, 1)
    assert windows.y.shape == (60 - timestep - horizon + 1, horizon, 1)
    assert windows.x[1, 0, 0] == 1 and windows.y[0, 0, 0] == timestep
    assert windows.y[-1, -1, 0] == 59
    assert windows.starts.tolist() == list(range(len(windows)))


def test_a_series_shorter_than_one_window_has_none():
    windows = make_windows(np.zeros(35), 18, 18)
    assert len(windows) == 0 and windows.x.shape == (0, 18, 1) and windows.y.shape == (0, 18, 1)
