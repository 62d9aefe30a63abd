"""The forecasts PNG: one panel per location, at most PNG_PANELS of them; the 80% and 95% bands
where the forecasts have quantiles; the test-window PNG drawn by a helper process where one may
be spawned."""

import sysconfig
from pathlib import Path

import numpy as np
import pandas as pd

from tasks.publish.charts import (
    FORECAST_SERIES,
    PNG_PANELS,
    forecast_chart_html,
    forecast_chart_png,
    forecasts_chart_html,
    forecasts_chart_png,
)
from tests.support.forecasts import with_distribution


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


def band_limits(axes) -> list[tuple[float, float]]:
    """The lowest and highest value of each shaded band of a matplotlib axes, in drawing order."""
    return [
        (float(path.vertices[:, 1].min()), float(path.vertices[:, 1].max()))
        for band in axes.collections
        for path in band.get_paths()
    ]


def test_forecasts_with_quantiles_draw_their_80_and_95_percent_bands():
    history, forecasts = forecasts_of(3)
    forecasts["forecast"] = np.tile([10.0, 12.0, 14.0], 3)
    spread = np.tile([0.5, 1.0, 2.0], 3)
    banded = with_distribution(forecasts, spread)
    figure = forecasts_chart_png(history, banded, "title")
    panels = [a for a in figure.axes if a.get_visible()]
    # widest first: 95% spans 10 - 1.96 x 0.5 .. 14 + 1.96 x 2, 80% with 1.28
    for panel in panels:
        (low95, high95), (low80, high80) = band_limits(panel)
        assert (low95, high95) == (banded["q025"].iloc[0], banded["q975"].iloc[2])
        assert (low80, high80) == (banded["q10"].iloc[0], banded["q90"].iloc[2])
        assert low95 < low80 < 10.0 and 14.0 < high80 < high95
    assert "80% and 95% intervals" in figure._suptitle.get_text()
    plain = forecasts_chart_png(history, forecasts, "title")
    assert (
        all(not a.collections for a in plain.axes) and "interval" not in plain._suptitle.get_text()
    )

    html = forecasts_chart_html(history, banded, "title")
    alpha = [t for t in html.data if t.legendgroup == "Station 000"]
    assert [(t.fill, t.showlegend) for t in alpha] == [
        *[(None, False), ("tonexty", False)] * 2,  # 95% then 80%: upper edge, lower filled up
        (None, None),  # history, named in the legend
        (None, False),  # forecast
    ]
    assert list(alpha[1].y) == banded["q025"].iloc[:3].tolist()
    assert len(forecasts_chart_html(history, forecasts, "title").data) == 2 * 3


def test_the_test_window_chart_draws_the_bands_where_it_has_quantiles():
    window = with_distribution(window_of(6, 0), spread=1.5)
    figure = forecast_chart_png(window, "Alpha")
    assert len(band_limits(figure.axes[0])) == 2
    labels = figure.axes[0].get_legend_handles_labels()[1]
    assert labels[-2:] == ["95% interval", "80% interval"]
    html = forecast_chart_html(window, "Alpha")
    assert [t.name for t in html.data if t.showlegend] == ["95% interval", "80% interval"]
    assert not forecast_chart_png(window_of(6, 0), "Alpha").axes[0].collections


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
    later = with_distribution(later, spread=4.0)  # bands wider than the lines: they rescale too
    first = with_distribution(first, spread=1.0)
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
