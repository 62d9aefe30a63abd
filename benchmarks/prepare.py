"""Benchmark: time ingest+validate and the whole data preparation on the full file, in-process.

Run with `make bench` (all benchmarks) or `python -m benchmarks.prepare`.
"""

import json
import statistics
import time
from pathlib import Path

from tasks.data.impute import impute_gaps
from tasks.data.ingest import ingest_observations, resolve_data_path
from tasks.data.monthly import build_monthly_table
from tasks.data.selection import select_data


def seconds(function, repeats: int) -> list[float]:
    """Wall seconds of each of `repeats` calls."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return times


def prepare_all(path: Path) -> None:
    """Every data step, without Prefect: ingest, validate, monthly, select, impute."""
    ingested = ingest_observations.fn(path)
    monthly = build_monthly_table.fn(ingested.accepted)
    impute_gaps.fn(select_data.fn(monthly, "auto", ingested.last_date).table)


def run(repeats: int = 5) -> dict:
    """Median and best seconds of ingest+validate and of the full preparation."""
    path = resolve_data_path()
    first = seconds(lambda: prepare_all(path), 1)[0]
    ingest_times = seconds(lambda: ingest_observations.fn(path), repeats)
    prepare_times = seconds(lambda: prepare_all(path), repeats)
    return {
        "data": str(path),
        "first_prepare_s": round(first, 3),
        "ingest_validate_median_s": round(statistics.median(ingest_times), 3),
        "ingest_validate_best_s": round(min(ingest_times), 3),
        "prepare_median_s": round(statistics.median(prepare_times), 3),
        "prepare_best_s": round(min(prepare_times), 3),
    }


if __name__ == "__main__":
    print(json.dumps(run(), indent=2))
