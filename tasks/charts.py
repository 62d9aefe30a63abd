"""Charts: interactive HTML with plotly and static PNG with matplotlib."""

from pathlib import Path

import pandas as pd
import plotly.graph_objects as go

from tasks.outputs import write_atomically


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


def write_html(figure: go.Figure, path: Path) -> Path:
    """Write a self-contained HTML chart (plotly.js embedded, so it opens offline)."""
    return write_atomically(
        path, lambda target: figure.write_html(target, include_plotlyjs=True, full_html=True)
    )
