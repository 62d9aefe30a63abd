"""Benchmark: how long a person waits for the quick commands, end to end, as real `tempcast`
processes on this machine.

`tempcast prepare` on the real file is timed both ways it can run: as plain steps (the default
without a Prefect API) and as the Prefect flow on a temporary Prefect API (what every `prepare`
did before, so the two figures compare before and after). `tempcast forecasts` reads a forecast
history the size of a year of monthly retrains of the 44 kept stations (every stored forecast,
then one location's). Also `tempcast --help`, `tempcast retrain --help`, a mistake on the
command line (`tempcast train --location Atlantis`, reported before any flow starts), and the
import of the retrain flow (TensorFlow, Keras, MLflow), the start-up that `retrain` pays before
its first step.

Run with `python -m benchmarks.startup`.
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from tasks.data.ingest import resolve_data_path

FLOW_PREPARE = "from flows.prepare import prepare_flow; prepare_flow(data={data!r}, out={out!r})"
STATIONS, RETRAINS, HORIZON = 44, 12, 18  # a year of monthly retrains of the kept stations


def tempcast(*arguments: str) -> list[str]:
    """The command line of `tempcast ARGUMENTS`: the installed script beside this Python."""
    script = Path(sys.executable).parent / "tempcast"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "flows"]
    return [*command, *arguments]


def no_prefect_api() -> dict[str, str]:
    """This environment without Prefect settings: no Prefect API configured, as on a fresh
    machine."""
    return {name: value for name, value in os.environ.items() if not name.startswith("PREFECT_")}


def wall_seconds(
    command: list[str], repeats: int, env: dict[str, str] | None = None, status: int = 0
) -> list[float]:
    """Wall seconds of each of `repeats` runs of a command (with `env` added to an environment
    without Prefect settings), which must exit with `status`."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        done = subprocess.run(command, env={**no_prefect_api(), **(env or {})}, capture_output=True)
        times.append(time.perf_counter() - start)
        if done.returncode != status:
            raise RuntimeError(f"{command} exited with {done.returncode}: {done.stderr[-2000:]}")
    return times


def history_rows() -> pd.DataFrame:
    """The forecasts of STATIONS stations by RETRAINS monthly retrains, HORIZON months each (a
    smooth seasonal cycle: only their number matters here)."""
    as_ofs = pd.period_range("2016-06", periods=RETRAINS, freq="M")
    rows = [
        {
            "location": f"Station {station:02d}",
            "as_of": str(as_of),
            "model_version": number + 1,
            "month": str(as_of + lead),
            "lead": lead,
            "forecast": 15.0 + 8.0 * ((as_of + lead).month % 12 - 6) / 6,
            "climatology": 15.0,
            "model_name": f"tempcast-station {station:02d}",
            "run_id": f"{station:016x}{number:016x}",
            "published_at": pd.Timestamp("2026-12-01", tz="UTC"),
        }
        for station in range(STATIONS)
        for number, as_of in enumerate(as_ofs)
        for lead in range(1, HORIZON + 1)
    ]
    return pd.DataFrame(rows)


def forecast_history(folder: str) -> str:
    """A forecast history of history_rows() in an embedded sqlite file in `folder`; its URL."""
    from tasks.publish.history import append_forecasts

    uri = f"sqlite:///{Path(folder) / 'forecasts.db'}"
    append_forecasts(uri, history_rows())
    return uri


def summary(name: str, times: list[float]) -> dict[str, float]:
    """The median and best of some timings, under `name`."""
    return {
        f"{name}_median_s": round(statistics.median(times), 2),
        f"{name}_best_s": round(min(times), 2),
    }


def run(repeats: int = 3, data: Path | None = None) -> dict:
    """Median and best wall seconds of each quick command (the real file unless `data`)."""
    path = str(data or resolve_data_path())
    out = tempfile.mkdtemp(prefix="tempcast-bench-startup-")
    history = {"TEMPCAST_FORECASTS_URI": forecast_history(out)}
    flow = [sys.executable, "-c", FLOW_PREPARE.format(data=path, out=out)]
    commands = {
        "prepare": (tempcast("prepare", "--data", path, "--out", out), None, 0),
        "prepare_as_flow_temporary_api": (flow, None, 0),
        "forecasts": (tempcast("forecasts"), history, 0),
        "forecasts_one_location": (tempcast("forecasts", "--location", "station 07"), history, 0),
        "help": (tempcast("--help"), None, 0),
        "retrain_help": (tempcast("retrain", "--help"), None, 0),
        "unknown_location": (tempcast("train", "--location", "Atlantis", "--data", path), None, 2),
        "import_retrain_flow": ([sys.executable, "-c", "import flows.retrain"], None, 0),
    }
    results: dict = {"data": path, "cpus": os.cpu_count(), "repeats": repeats}
    results["forecasts_stored"] = STATIONS * RETRAINS * HORIZON
    for name, (command, env, status) in commands.items():
        results |= summary(name, wall_seconds(command, repeats, env, status))
    return results


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
