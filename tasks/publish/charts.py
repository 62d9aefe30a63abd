"""Charts: interactive HTML with plotly and static PNG with matplotlib (no pyplot: thread-safe).

Forecasts drawn from a frame with quantile columns show their 95% (q025..q975) and 80%
(q10..q90) central intervals as shaded bands around the forecast; a frame without them (older
data, a model without a distribution) draws the lines alone.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io
from plotly.subplots import make_subplots

from tasks.publish.outputs import write_atomically

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

# The same JSON in the HTML charts as the standard library's, in half the time.
plotly.io.json.config.default_engine = "orjson"

FORECAST_SERIES = {
    "actual": ("actual", "black"),
    "forecast": ("LSTM forecast", "tab:red"),
    "baseline_climatology": ("climatology", "tab:blue"),
    "baseline_seasonal_naive": ("seasonal naive", "tab:green"),
}


# The bands, widest first (drawn under the narrower one): level, lower and upper quantile column,
# and the opacity of its shade.
BANDS = ((95, "q025", "q975", 0.15), (80, "q10", "q90", 0.3))
BAND_COLOR = (214, 39, 40)  # tab:red, the forecast's colour


def bands_of(frame: pd.DataFrame) -> list[tuple[int, np.ndarray, np.ndarray, float]]:
    """The bands the frame can draw (it has both bounds, not all missing): level, lower and
    upper values, opacity."""
    return [
        (level, frame[low].to_numpy(float), frame[high].to_numpy(float), alpha)
        for level, low, high, alpha in BANDS
        if {low, high} <= set(frame.columns) and frame[[low, high]].notna().any(axis=None)
    ]


def draw_bands(axes: Axes, x: Any, frame: pd.DataFrame, label: bool = True) -> None:
    """Shade the frame's bands on a matplotlib axes at positions `x` (labelled for the
    legend when `label`)."""
    color = tuple(c / 255 for c in BAND_COLOR)
    for level, low, high, alpha in bands_of(frame):
        name = f"{level}% interval" if label else None
        axes.fill_between(x, low, high, color=color, alpha=alpha, linewidth=0, label=name)


def band_traces(x: Any, frame: pd.DataFrame, group: str | None = None) -> list[go.Scatter]:
    """The frame's bands as plotly traces: per band, its upper edge and its lower edge filled up
    to it. In a legend group (a location's) they stay out of the legend and show and hide with
    the group; alone, each band has its own legend entry."""
    traces = []
    for level, low, high, alpha in bands_of(frame):
        edge = {"x": x, "mode": "lines", "line": {"width": 0}, "name": f"{level}% interval"}
        edge |= {"legendgroup": group or f"band{level}", "hoverinfo": "skip"}
        traces.append(go.Scatter(y=high, showlegend=False, **edge))
        fill = {"fill": "tonexty", "fillcolor": f"rgba{(*BAND_COLOR, alpha)}"}
        traces.append(go.Scatter(y=low, showlegend=group is None, **fill, **edge))
    return traces


def new_figure(**options: Any) -> Figure:
    """A matplotlib figure; matplotlib is imported on first use (a third of a second), so that
    commands drawing no PNG, such as prepare, never load it."""
    from matplotlib.figure import Figure

    return Figure(**options)


def monthly_chart(table: pd.DataFrame, title: str) -> go.Figure:
    """One line per location over the months, legend per location (the recipe's first chart)."""
    figure = go.Figure()
    for location, row in table.iterrows():
        figure.add_trace(
            go.Scatter(x=list(row.index), y=row.to_numpy(), mode="lines", name=location)
        )
    figure.update_layout(
        title=title, xaxis_title="month", yaxis_title="mean temperature (°C)", hovermode="x unified"
    )
    return figure


def forecast_chart_html(frame: pd.DataFrame, title: str) -> go.Figure:
    """Actual vs forecast vs both baselines per month, with the forecast's bands, interactive."""
    figure = go.Figure(band_traces(frame["month"], frame))
    for column, (label, _) in FORECAST_SERIES.items():
        dash = "solid" if column in ("actual", "forecast") else "dot"
        figure.add_trace(
            go.Scatter(x=frame["month"], y=frame[column], name=label, line={"dash": dash})
        )
    figure.update_layout(title=title, xaxis_title="month", yaxis_title="°C", hovermode="x unified")
    return figure


def forecast_chart_png(frame: pd.DataFrame, title: str) -> Figure:
    """The same chart as a static matplotlib figure, readable in the MLflow UI."""
    figure = new_figure(figsize=(9, 4.5), dpi=100)
    axes = figure.subplots()
    # The months at positions 0, 1, ... with their labels: what a categorical axis draws, without
    # matplotlib trying every label as a number and as a date first.
    positions = np.arange(len(frame))
    for column, (label, color) in FORECAST_SERIES.items():
        style = "-" if column in ("actual", "forecast") else ":"
        values = frame[column].to_numpy(float)
        axes.plot(positions, values, style, color=color, label=label, marker=".")
    draw_bands(
        axes, positions, frame
    )  # under the lines (a lower z-order), after them in the legend
    axes.set_xticks(positions, frame["month"].tolist())
    axes.set_title(title)
    axes.set_ylabel("°C")
    axes.legend(loc="best", fontsize="small")
    axes.tick_params(axis="x", labelrotation=60, labelsize="small")
    axes.grid(alpha=0.3)
    # Fixed margins that fit the title and the rotated month labels: tight_layout would draw
    # the figure once more just to measure them, a third of the cost of every location's chart.
    figure.subplots_adjust(left=0.08, right=0.98, top=0.91, bottom=0.2)
    return figure


def refill_forecast_chart(figure: Figure, frame: pd.DataFrame, title: str) -> None:
    """Draw another window of as many months in a figure that forecast_chart_png made: the same
    pixels as a new figure, a quarter sooner (matplotlib makes an axis' ticks only once); the
    bands are drawn afresh, and the legend with them."""
    axes = figure.axes[0]
    for line, column in zip(axes.lines, FORECAST_SERIES, strict=True):
        line.set_ydata(frame[column].to_numpy(float))
    for band in list(axes.collections):
        band.remove()
    axes.xaxis.set_ticklabels(frame["month"].tolist())
    axes.set_title(title)
    axes.relim()
    draw_bands(axes, np.arange(len(frame)), frame)
    axes.legend(loc="best", fontsize="small")
    axes.autoscale_view()


HISTORY_MONTHS = 36
# Panels of the forecasts PNG, a glance: a network of a thousand stations would make an image of
# 33,000 pixels' height that takes minutes to draw; every location is in the HTML and CSV.
PNG_PANELS = 60


def forecasts_chart_html(history: pd.DataFrame, forecasts: pd.DataFrame, title: str) -> go.Figure:
    """Per location, the last three years of history (solid) and the forecast (dashed) with its
    80% and 95% bands; clicking a location in the legend shows or hides them all."""
    figure = go.Figure()
    for location, rows in forecasts.groupby("location", sort=True):
        past = history.loc[location].iloc[-HISTORY_MONTHS:]
        group = {"legendgroup": location, "name": location}
        figure.add_traces(band_traces(rows["month"], rows, group=location))
        figure.add_trace(go.Scatter(x=list(past.index), y=past.to_numpy(), mode="lines", **group))
        figure.add_trace(
            go.Scatter(
                x=rows["month"],
                y=rows["forecast"],
                mode="lines",
                line={"dash": "dash"},
                showlegend=False,
                **group,
            )
        )
    figure.update_layout(title=title, xaxis_title="month", yaxis_title="°C", hovermode="closest")
    return figure


def forecasts_chart_png(history: pd.DataFrame, forecasts: pd.DataFrame, title: str) -> Figure:
    """The same as small multiples, one panel per location (the first PNG_PANELS), for a quick
    look without a browser."""
    everywhere = sorted(forecasts["location"].unique())
    locations = everywhere[:PNG_PANELS]
    columns = min(6, max(1, len(locations)))
    rows = -(-len(locations) // columns)
    figure = new_figure(figsize=(3 * columns, 2.2 * rows + 0.6), dpi=90)
    axes = figure.subplots(rows, columns, squeeze=False, sharex=True)
    for panel, location in zip(axes.flat, locations, strict=False):
        past = history.loc[location].iloc[-HISTORY_MONTHS:]
        future = forecasts[forecasts["location"] == location]
        steps = range(len(past) + len(future))
        panel.plot(steps[: len(past)], past.to_numpy(), color="black", linewidth=1)
        draw_bands(panel, steps[len(past) :], future, label=False)
        panel.plot(
            steps[len(past) :], future["forecast"].to_numpy(), color="tab:red", linewidth=1.5
        )
        panel.set_title(location, fontsize="small")
        panel.tick_params(labelsize="x-small")
    for panel in list(axes.flat)[len(locations) :]:
        panel.set_visible(False)
    shown = (
        f"; the first {len(locations)} of {len(everywhere)} locations, all in forecasts.html"
        if len(locations) < len(everywhere)
        else ""
    )
    intervals = " with its 80% and 95% intervals" if bands_of(forecasts) else ""
    figure.suptitle(
        f"{title}\n(black: last {HISTORY_MONTHS} months, red: forecast{intervals}{shown})",
        fontsize="medium",
    )
    figure.tight_layout()
    return figure


MAE_SERIES = {
    "mae": ("LSTM", "tab:red"),
    "baseline_climatology_mae": ("climatology", "tab:blue"),
    "baseline_seasonal_naive_mae": ("seasonal naive", "tab:green"),
}


def mae_by_step_html(summary: pd.DataFrame, title: str) -> go.Figure:
    """Backtest MAE by forecast step for the model and both baselines, interactive."""
    figure = go.Figure()
    for column, (label, _) in MAE_SERIES.items():
        figure.add_trace(
            go.Scatter(x=summary["step"], y=summary[column], name=label, mode="lines+markers")
        )
    figure.update_layout(title=title, xaxis_title="months ahead", yaxis_title="MAE (°C)")
    return figure


def mae_by_step_png(summary: pd.DataFrame, title: str) -> Figure:
    """The same chart as a static figure."""
    figure = new_figure(figsize=(8, 4.5), dpi=100)
    axes = figure.subplots()
    for column, (label, color) in MAE_SERIES.items():
        axes.plot(summary["step"], summary[column], marker=".", color=color, label=label)
    axes.set_title(title)
    axes.set_xlabel("months ahead")
    axes.set_ylabel("MAE (°C)")
    axes.legend(loc="best")
    axes.grid(alpha=0.3)
    figure.tight_layout()
    return figure


LIVE_SERIES = {
    "live_mae": ("published forecasts", "#d62728"),  # tab:red
    "live_climatology_mae": ("climatology at their as_of", "#1f77b4"),  # tab:blue
}


def live_mae_html(by_lead: pd.DataFrame, by_month: pd.DataFrame, title: str) -> go.Figure:
    """Live MAE of the published forecasts beside climatology's: by lead over the window (left)
    and by target month over the whole track record (right), interactive."""
    figure = make_subplots(
        rows=1, cols=2, subplot_titles=("by months ahead (window)", "by target month")
    )
    for column, (label, color) in LIVE_SERIES.items():
        style = {"name": label, "line": {"color": color}, "legendgroup": column}
        for col, (frame, x) in enumerate(((by_lead, "lead"), (by_month, "month")), start=1):
            trace = go.Scatter(
                x=frame[x], y=frame[column], mode="lines+markers", showlegend=col == 1, **style
            )
            figure.add_trace(trace, row=1, col=col)
    figure.update_layout(title=title, yaxis_title="MAE (°C)", hovermode="x unified")
    return figure


def live_mae_png(by_lead: pd.DataFrame, by_month: pd.DataFrame, title: str) -> Figure:
    """The same chart as a static figure."""
    figure = new_figure(figsize=(11, 4.5), dpi=100)
    lead_axes, month_axes = figure.subplots(1, 2)
    for column, (label, color) in LIVE_SERIES.items():
        lead_axes.plot(by_lead["lead"], by_lead[column], marker=".", color=color, label=label)
        month_axes.plot(by_month["month"], by_month[column], marker=".", color=color)
    lead_axes.set_xticks(by_lead["lead"])
    lead_axes.set_xlabel("months ahead (window)")
    lead_axes.set_ylabel("MAE (°C)")
    lead_axes.legend(loc="best", fontsize="small")
    month_axes.set_xlabel("target month")
    month_axes.tick_params(axis="x", labelrotation=60, labelsize="small")
    for axes in (lead_axes, month_axes):
        axes.grid(alpha=0.3)
    figure.suptitle(title)
    figure.tight_layout()
    return figure


def write_png(figure: Figure, path: Path) -> Path:
    """Write a matplotlib figure as PNG."""
    return write_atomically(path, lambda target: figure.savefig(target, format="png"))


def write_html(figure: go.Figure, path: Path) -> Path:
    """Write a self-contained HTML chart (plotly.js embedded, so it opens offline)."""
    return write_atomically(
        path, lambda target: figure.write_html(target, include_plotlyjs=True, full_html=True)
    )
