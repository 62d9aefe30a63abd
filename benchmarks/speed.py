"""Benchmark: the default recipe's full retrain against the article recipe's per-location loop.

Both run side by side in one benchmark run, each as a real `tempcast` command in its own
process (imports, Prefect, MLflow tracking and registry included), on the recipe's split
(`--selection article`: the last 36 months are the test window), each with a fresh tracking
store. Reported: seconds per location of the article recipe (>= 2 locations), seconds of the
full default retrain, their ratio extrapolated to all locations, mean test MAE of both on the
same locations beside climatology and seasonal naive, and the retrain's peak memory.

    python -m benchmarks.speed [--article-locations Canberra Sydney] [--json PATH]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

TEMPCAST = [sys.executable, "-m", "flows"]
MEANS = ["test_mae", "baseline_climatology_mae", "baseline_seasonal_naive_mae"]


@dataclass(frozen=True)
class CommandRun:
    """Wall seconds, peak resident memory (MiB) and the metrics table of one tempcast command,
    and its CPU seconds (user and system, with those of its child processes that it waited for:
    a measure that other work on the machine hardly changes). `peak_mib` is the largest of the
    process and the children it waited for (the temporary Prefect API, say); `own_peak_mib`
    is the tempcast process alone, sampled every quarter of a second."""

    seconds: float
    peak_mib: float
    metrics: pd.DataFrame
    cpu_seconds: float = 0.0
    own_peak_mib: float = 0.0


class MemorySampler(threading.Thread):
    """The largest resident memory of one process, sampled until it ends."""

    def __init__(self, pid: int, every: float = 0.25) -> None:
        super().__init__(daemon=True)
        self.pid, self.every, self.peak = pid, every, 0

    def run(self) -> None:
        import psutil

        try:
            process = psutil.Process(self.pid)
            while process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
                self.peak = max(self.peak, process.memory_info().rss)
                time.sleep(self.every)
        except psutil.Error:  # it ended between two samples
            return


def run_command(
    arguments: list[str],
    folder: Path,
    results: str = "metrics.csv",
    env: dict[str, str] | None = None,
) -> CommandRun:
    """Run `tempcast ARGUMENTS` in `folder` with a fresh embedded store (and any other
    variables in `env`); measure it and read its result table (`results`, in its output
    folder)."""
    folder.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "MLFLOW_TRACKING_URI": f"sqlite:///{folder / 'mlflow.db'}", **(env or {})}
    log = folder / "command.log"
    start = time.perf_counter()
    with log.open("w") as output:
        process = subprocess.Popen(
            [*TEMPCAST, *arguments, "--out", str(folder / "out")],
            cwd=folder,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        sampler = MemorySampler(process.pid)
        sampler.start()
        _, status, usage = os.wait4(process.pid, 0)  # this child's own peak memory
        process.returncode = os.waitstatus_to_exitcode(status)
        sampler.join()
    seconds = time.perf_counter() - start
    if process.returncode != 0:
        raise RuntimeError(f"tempcast {' '.join(arguments)} failed; see {log}")
    cpu = usage.ru_utime + usage.ru_stime
    table = pd.read_csv(folder / "out" / results)
    return CommandRun(seconds, usage.ru_maxrss / 1024, table, cpu, sampler.peak / 2**20)


def means(metrics: pd.DataFrame) -> dict[str, float]:
    """Mean test MAE and mean baseline MAEs over the table's locations."""
    return {name: round(float(metrics[name].mean()), 4) for name in MEANS}


def help_seconds() -> float:
    """Wall seconds of `tempcast --help` (it must not import TensorFlow)."""
    start = time.perf_counter()
    subprocess.run([*TEMPCAST, "--help"], check=True, capture_output=True)
    return time.perf_counter() - start


def compare(
    folder: Path, article_locations: list[str], common: list[str], article_extra: list[str]
) -> dict:
    """Run both recipes and put their numbers side by side."""
    retrain = run_command(
        ["retrain", "--all", "--selection", "article", *common], folder / "default"
    )
    article = run_command(
        ["train", "--recipe", "article", "--selection", "article", *common, *article_extra]
        + [f"--location={name}" for name in article_locations],
        folder / "article",
    )
    locations = len(retrain.metrics)
    # The command's wall time shared out, not each model's train_seconds: the flow trains its
    # locations concurrently, so each model's own clock also counts the others' share of the CPU.
    per_location = article.seconds / len(article.metrics)
    same = retrain.metrics[retrain.metrics["location"].isin(article_locations)]
    return {
        "locations": locations,
        "default_retrain_seconds": round(retrain.seconds, 1),
        "default_retrain_peak_mib": round(retrain.peak_mib),
        "article_command_seconds": round(article.seconds, 1),
        "article_seconds_per_location": round(per_location, 1),
        "article_mean_train_seconds_concurrent": round(article.metrics["train_seconds"].mean(), 1),
        "article_extrapolated_seconds": round(per_location * locations, 1),
        "speedup": round(per_location * locations / retrain.seconds, 1),
        "default_all_locations": means(retrain.metrics),
        "default_on_article_locations": means(same),
        "article_on_its_locations": means(article.metrics),
        "article_locations": article_locations,
        "tempcast_help_seconds": round(help_seconds(), 2),
    }


def main() -> None:
    """Parse options, run the comparison, print and save the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--article-locations", nargs="+", default=["Canberra", "Sydney"])
    parser.add_argument("--json", type=Path, default=Path("benchmarks/results/speed.json"))
    parser.add_argument("--folder", type=Path, default=None, help="Keep the runs here.")
    options = parser.parse_args()
    folder = options.folder or Path(tempfile.mkdtemp(prefix="tempcast-bench-"))
    result = compare(folder, options.article_locations, [], [])
    options.json.parent.mkdir(parents=True, exist_ok=True)
    options.json.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
