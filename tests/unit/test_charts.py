"""The forecasts PNG: one panel per location, at most PNG_PANELS of them; the test-window PNG
drawn by a helper process where one may be spawned."""

import sysconfig
from pathlib import Path

import numpy as np
import pandas as pd

from tasks.publish.charts import FORECAST_SERIES, PNG_PANELS, forecasts_chart_png


def forecasts_of(count: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """History (36 months) and a 3-month forecast for `count` locations."""
    names = [f"Station {number:03d}" for number in range(count)]
    months = [f"20{year}-{month:02d}" for year in (14, 15, 16) for month in range(1, 13)]
    history = pd.DataFrame(np.ones((count, len(months))), index=names, columns=months)
    forecasts = pd.DataFrame(
        [(name, f"2017-0{m}", 1.0) for name in names for m in (1, 2, 3)],
        columns=["location", "month", "forecast"],
    )
    return history, forecasts


def visible_panels(count: int) -> tuple[list[str], str]:
    """The titles of the visible panels, and the figure's title."""
    figure = forecasts_chart_png(*forecasts_of(count), "title")
    return [a.get_title() for a in figure.axes if a.get_visible()], figure._suptitle.get_text()


def test_every_location_has_a_panel_in_a_small_network():
    titles, heading = visible_panels(7)
    assert titles == [f"Station {number:03d}" for number in range(7)]
    assert "locations" not in heading


def test_a_large_network_shows_the_first_panels_and_says_where_the_rest_are():
    titles, heading = visible_panels(PNG_PANELS + 5)
    assert titles == [f"Station {number:03d}" for number in range(PNG_PANELS)]
    assert f"the first {PNG_PANELS} of {PNG_PANELS + 5} locations" in heading


def test_the_drawing_helper_is_only_spawned_where_the_main_script_cannot_run_again(monkeypatch):
    import sys
    import types

    from tasks.publish.drawing import spawn_is_safe

    script = types.ModuleType("__main__")
    script.__file__ = "/home/someone/my_retrain.py"  # a plain script: it may not be guarded
    monkeypatch.setitem(sys.modules, "__main__", script)
    assert not spawn_is_safe()
    script.__file__ = str(Path(sysconfig.get_path("scripts")) / "tempcast")  # pip's wrapper
    assert spawn_is_safe()
    del script.__file__  # python -c, a notebook
    assert spawn_is_safe()


def test_charts_drawn_by_the_helper_are_the_charts_drawn_here():
    from tasks.publish.drawing import drawn_test_charts, start_test_charts, test_charts

    frame = pd.DataFrame(
        {
            "month": ["2016-01", "2016-02"],
            **{column: [1.0, 2.0] for column in FORECAST_SERIES},
        }
    )
    png, html = drawn_test_charts(start_test_charts(frame, "Alpha"), frame, "Alpha")
    assert png.startswith(b"\x89PNG") and "plotly" in html
    here = test_charts(frame, "Alpha")
    assert png == here[0] and len(html) == len(here[1])  # (plotly numbers each chart's div)


def window_of(months: int, seed: int) -> pd.DataFrame:
    """A test window of `months` months from January of 2015 + seed, the seasonal naive baseline
    missing for the first three."""
    values = np.random.default_rng(seed).normal(15.0, 5.0, (months, len(FORECAST_SERIES)))
    frame = pd.DataFrame(values, columns=list(FORECAST_SERIES))
    frame.loc[:2, "baseline_seasonal_naive"] = np.nan
    months_shown = pd.period_range(f"{2015 + seed}-01", periods=months, freq="M").astype(str)
    return frame.assign(month=months_shown)


def pixels(png: bytes) -> np.ndarray:
    """A PNG's pixels."""
    import io

    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(png)))


def test_a_window_drawn_in_a_figure_used_before_looks_as_in_a_new_figure():
    import threading

    from tasks.publish.drawing import test_charts

    first, later, other_length = window_of(18, 1), window_of(18, 2), window_of(12, 3)
    later[list(FORECAST_SERIES)] += 30.0  # outside the first window's range: the axis rescales
    drawn: dict[str, bytes] = {}

    def draw_afresh() -> None:  # a new thread: its own new figures
        drawn["later"] = test_charts(later, "Bravo: test months")[0]
        drawn["other"] = test_charts(other_length, "Charlie: test months")[0]

    test_charts(first, "Alpha: test months")
    test_charts(window_of(12, 4), "Delta: test months")
    reused_later = test_charts(later, "Bravo: test months")[0]
    reused_other = test_charts(other_length, "Charlie: test months")[0]
    thread = threading.Thread(target=draw_afresh)
    thread.start()
    thread.join()
    assert np.array_equal(pixels(reused_later), pixels(drawn["later"]))
    assert np.array_equal(pixels(reused_other), pixels(drawn["other"]))
    assert not np.array_equal(pixels(reused_later), pixels(reused_other))
