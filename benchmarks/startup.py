"""Benchmark: how long a person waits for the quick commands, end to end, as real `tempcast`
processes on this machine.

`tempcast prepare` on the real file is timed both ways it can run: as plain steps (the default
without a Prefect API) and as the Prefect flow on a temporary Prefect API (what every `prepare`
did before, so the two figures compare before and after). Also `tempcast --help`, `tempcast
retrain --help`, and the import of the retrain flow (TensorFlow, Keras, MLflow), the start-up
that `retrain` pays before its first step.

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

from tasks.data.ingest import resolve_data_path

FLOW_PREPARE = "from flows.prepare import prepare_flow; prepare_flow(data={data!r}, out={out!r})"


def tempcast(*arguments: str) -> list[str]:
    """The command line of `tempcast ARGUMENTS`: the installed script beside this Python."""
    script = Path(sys.executable).parent / "tempcast"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "flows"]
    return [*command, *arguments]


def no_prefect_api() -> dict[str, str]:
    """This environment without Prefect settings: no Prefect API configured, as on a fresh
    machine."""
    return {name: value for name, value in os.environ.items() if not name.startswith("PREFECT_")}


def wall_seconds(command: list[str], repeats: int) -> list[float]:
    """Wall seconds of each of `repeats` runs of a command, which must succeed."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(command, env=no_prefect_api(), check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return times


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
    flow = [sys.executable, "-c", FLOW_PREPARE.format(data=path, out=out)]
    commands = {
        "prepare": tempcast("prepare", "--data", path, "--out", out),
        "prepare_as_flow_temporary_api": flow,
        "help": tempcast("--help"),
        "retrain_help": tempcast("retrain", "--help"),
        "import_retrain_flow": [sys.executable, "-c", "import flows.retrain"],
    }
    results: dict = {"data": path, "cpus": os.cpu_count(), "repeats": repeats}
    for name, command in commands.items():
        results |= summary(name, wall_seconds(command, repeats))
    return results


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
