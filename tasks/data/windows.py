"""Windows: per-location sliding windows of `timestep` months in and `horizon` months out."""

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


@dataclass(frozen=True)
class Windows:
    """Inputs (n, timestep, 1), targets (n, horizon, 1), index of each window's first month."""

    x: np.ndarray
    y: np.ndarray
    starts: np.ndarray

    def __len__(self) -> int:
        return len(self.x)


def make_windows(series: np.ndarray, timestep: int, horizon: int) -> Windows:
    """Every window of a 1-D series, stride one month, without a Python loop over months (none
    when the series is shorter than one window)."""
    values = np.asarray(series, dtype=np.float32)
    span = timestep + horizon
    if len(values) < span:
        empty = np.empty((0, 0, 1), dtype=np.float32)
        return Windows(
            empty.reshape(0, timestep, 1), empty.reshape(0, horizon, 1), np.empty(0, int)
        )
    windows = sliding_window_view(values, span)
    return Windows(
        x=windows[:, :timestep, np.newaxis].copy(),
        y=windows[:, timestep:, np.newaxis].copy(),
        starts=np.arange(len(windows)),
    )
