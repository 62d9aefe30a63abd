"""The per-location test-window charts (PNG and HTML), drawn in a helper process while the
tracking threads go on: matplotlib and plotly hold the GIL while they draw, so in a thread they
would only take turns with them.

The helper is one spawned process, started on first use and kept for the process's life. A
daemonic process (a Dask worker) may not start one and draws in place, as does a plain script
(see spawn_is_safe) and any process whose helper has died.
"""

from __future__ import annotations

import functools
import io
import multiprocessing
import multiprocessing.connection
import os
import sys
import sysconfig
import threading
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from tasks.publish.charts import forecast_chart_html, forecast_chart_png, refill_forecast_chart

if TYPE_CHECKING:
    from matplotlib.figure import Figure

_helper: ProcessPoolExecutor | None = None
_starting = threading.Lock()
_figures = threading.local()  # per thread: matplotlib figures are not thread-safe


def window_figure(frame: pd.DataFrame, title: str) -> Figure:
    """The test window's matplotlib chart, in this thread's figure for windows of its length."""
    figures: dict[int, Figure] = _figures.__dict__.setdefault("by_length", {})
    figure = figures.get(len(frame))
    if figure is None:
        figure = figures[len(frame)] = forecast_chart_png(frame, title)
    else:
        refill_forecast_chart(figure, frame, title)
    return figure


def test_charts(frame: pd.DataFrame, title: str) -> tuple[bytes, str]:
    """The test window's chart (actual vs forecast vs baselines) as PNG bytes and as HTML
    that loads plotly.js from its CDN (one copy per run would add 4.8 MB)."""
    buffer = io.BytesIO()
    # zlib's fastest level: a tenth less time for the same pixels, a file of about the same size
    fastest = {"compress_level": 1}
    window_figure(frame, title).savefig(buffer, format="png", pil_kwargs=fastest)
    html = forecast_chart_html(frame, title).to_html(include_plotlyjs="cdn")
    return buffer.getvalue(), html


def spawn_is_safe() -> bool:
    """Whether a spawned process can start without running this process's main script again:
    the main module was run by name (`python -m`, which multiprocessing does not re-run), has
    no file (`python -c`, a notebook), or is a console script that pip wrote (`tempcast`,
    `pytest`), whose call is guarded by `if __name__ == "__main__"`. A plain script may not
    be guarded: it would run again in the helper."""
    main = sys.modules["__main__"]
    if getattr(main, "__spec__", None) is not None or not getattr(main, "__file__", None):
        return True
    return Path(main.__file__).parent == Path(sysconfig.get_path("scripts"))


def follow_parent() -> None:
    """In the helper: end as soon as the process that started it ends (killed included), so
    that no orphan is left holding its output open."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def wait() -> None:
        multiprocessing.connection.wait([parent.sentinel])
        os._exit(0)

    threading.Thread(target=wait, daemon=True).start()


def helper() -> ProcessPoolExecutor | None:
    """This process's drawing helper (None in a daemonic process, and where spawning is not
    safe)."""
    global _helper
    if multiprocessing.current_process().daemon or not spawn_is_safe():
        return None
    with _starting:
        if _helper is None:
            spawn = multiprocessing.get_context("spawn")
            _helper = ProcessPoolExecutor(1, mp_context=spawn, initializer=follow_parent)
        return _helper


def forget_helper() -> None:
    """Drop a helper that died, so that the next chart starts another."""
    global _helper
    with _starting:
        _helper = None


def start_test_charts(frame: pd.DataFrame, title: str) -> Future:
    """Start drawing the charts; the future's result is what test_charts returns."""
    pool = helper()
    try:
        if pool is not None:
            return pool.submit(test_charts, frame, title)
    except (BrokenProcessPool, RuntimeError):  # died, or shut down at exit
        forget_helper()
    drawn: Future = Future()
    drawn.set_result(test_charts(frame, title))
    return drawn


def drawn_test_charts(started: Future, frame: pd.DataFrame, title: str) -> tuple[bytes, str]:
    """The charts' PNG bytes and HTML; drawn here when the helper died meanwhile."""
    try:
        return started.result()
    except BrokenProcessPool:
        forget_helper()
        return test_charts(frame, title)


@dataclass(frozen=True)
class WindowCharts:
    """A test window's charts, to be drawn when tracking asks (tasks.tracking.runs.Charts):
    what a run record carries instead of the drawing code itself."""

    frame: pd.DataFrame
    title: str

    def start(self) -> Callable[[], tuple[bytes, str]]:
        """Start drawing; the call returned gives the PNG bytes and the HTML."""
        started = start_test_charts(self.frame, self.title)
        return functools.partial(drawn_test_charts, started, self.frame, self.title)
