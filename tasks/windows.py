"""Windows: per-location sliding windows of `timestep` months in and `horizon` months out."""

from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from tasks.errors import TempcastError


@dataclass(frozen=True)
class Windows:
    """Inputs (n, timestep, 1), targets (n, horizon, 1), index of each window's first month."""

    x: np.ndarray
    y: np.ndarray
    starts: np.ndarray

    def __len__(self) -> int:
        return len(self.x)


@dataclass(frozen=True)
class WindowSplit:
    """The out-of-time split: training windows strictly before the final test window(s)."""

    train: Windows
    test: Windows


def required_months(timestep: int, horizon: int) -> int:
    """Months needed for one training window and one out-of-time test window."""
    return 2 * (timestep + horizon)


def make_windows(series: np.ndarray, timestep: int, horizon: int, offset: int = 0) -> Windows:
    """Every window of a 1-D series, stride one month, without a Python loop over months."""
    values = np.asarray(series, dtype=np.float32)
    span = timestep + horizon
    if timestep < 1 or horizon < 1:
        raise TempcastError(f"timestep ({timestep}) and horizon ({horizon}) must be at least 1")
    if len(values) < span:
        raise TempcastError(
            f"a window of timestep {timestep} + horizon {horizon} needs {span} months,"
            f" there are {len(values)}"
        )
    windows = sliding_window_view(values, span)
    return Windows(
        x=windows[:, :timestep, np.newaxis].copy(),
        y=windows[:, timestep:, np.newaxis].copy(),
        starts=np.arange(len(windows)) + offset,
    )


def split_windows(
    series: np.ndarray, timestep: int, horizon: int, location: str = ""
) -> WindowSplit:
    """Put the last timestep+horizon months in test and every earlier full window in training."""
    needed = required_months(timestep, horizon)
    if len(series) < needed:
        where = f"{location}: " if location else ""
        raise TempcastError(
            f"{where}too few months for timestep {timestep} and horizon {horizon}:"
            f" needs {needed}, has {len(series)}"
        )
    span = timestep + horizon
    test_start = len(series) - span
    return WindowSplit(
        train=make_windows(series[:test_start], timestep, horizon),
        test=make_windows(series[test_start:], timestep, horizon, offset=test_start),
    )
