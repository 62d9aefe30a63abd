"""Benchmark: the full retrain at N stations (44, 250 and 1,000), and where its time goes.

For each N, a synthetic daily observations file is made from the real one: each synthetic
station is one of the real stations that the data selection keeps, with its own level shift and
daily noise (the same on MinTemp and MaxTemp, so MinTemp <= MaxTemp still holds) and a distinct
plain name (`<real name> <number>`). It is written to a temporary folder, never committed. Then
`tempcast retrain --all` runs on it in its own process with a fresh embedded store (sqlite and
artifacts in that folder). Reported per N: wall time, the process's peak memory, and the time of
each stage, in total and per location, read from the timestamps of the lines the run logs:

- start-up: from the process start to the flow's first line (imports, Prefect's temporary API);
- data: ingest, validation, monthly table, selection, imputation;
- set-up: live scoring of earlier forecasts, the parent run (a fresh store creates its tables
  here), planning the units;
- training: the evaluation and production fits of every location;
- tracking: each location's model and child run, its files, its registered version (and,
  beside it, the promotion of the chunks of locations already tracked);
- promotion: the promotions still running when the tracking ends (each decided and recorded
  under the location's lock);
- forecasts: the champions' forecasts, their charts and history, the output files, the parent
  run closed;
- shut-down: the printed summary, stopping the temporary API.

With `--dask` the largest N runs again with `--task-runner dask` on a local two-worker cluster,
and its models and forecasts are compared with the threaded run's.

    python -m benchmarks.scale [--sizes 44 250 1000] [--dask] [--folder DIR] [--json PATH]
"""

import argparse
import json
import re
import tempfile
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.speed import means, run_command

SIZES = (44, 250, 1000)
COLUMNS = ["Date", "Location", "MinTemp", "MaxTemp"]
# The last line of each landmark, in the order they occur; a stage ends at its landmark.
LANDMARKS = {
    "start-up": r"Flow run '.*' - Beginning flow run",
    "data": r"Task run '(ingest-observations|build-monthly-table|select-locations-and-months"
    r"|impute-gaps)-\w+' - Finished",
    "set-up": r"Task run 'plan-units-\w+' - Finished",
    "training": r"Task run 'fit-locations-\w+' - Finished",
    "tracking": r"locations trained and tracked",
    "promotion": r"promotion: \d+ of \d+ locations done",
    "forecasts": r"Flow run '.*' - Finished in state",
}
STAGES = (*LANDMARKS, "shut-down")
TIMESTAMP = re.compile(r"^(\d\d):(\d\d):(\d\d)\.(\d\d\d) \| ")


def kept_stations(path: Path) -> pd.DataFrame:
    """The real file's daily observations of the stations that the default data selection
    keeps (so that every synthetic station made from them is kept too)."""
    from tasks.calls import as_function
    from tasks.data.ingest import ingest_observations
    from tasks.data.prepared import prepare_data

    ingested = ingest_observations.fn(path)
    kept = prepare_data(ingested, "auto", call=as_function).locations
    rows = ingested.accepted[COLUMNS]
    return rows[rows["Location"].isin(kept)]


def synthetic_observations(real: pd.DataFrame, stations: int, seed: int = 0) -> pd.DataFrame:
    """`stations` synthetic stations, each a real station's series (in turn) with its own level
    shift (uniform, -2..2 °C), daily noise (normal, 0.5 °C) and name."""
    rng = np.random.default_rng(seed)
    by_station = [rows for _, rows in real.groupby("Location", sort=True)]
    frames = []
    for number in range(stations):
        rows = by_station[number % len(by_station)]
        change = rng.uniform(-2, 2) + rng.normal(0, 0.5, len(rows))
        frames.append(
            pd.DataFrame(
                {
                    "Date": rows["Date"].dt.strftime("%Y-%m-%d").to_numpy(),
                    "Location": f"{rows['Location'].iloc[0]} {number + 1}",
                    "MinTemp": (rows["MinTemp"].to_numpy() + change).round(1),
                    "MaxTemp": (rows["MaxTemp"].to_numpy() + change).round(1),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def write_observations(real: pd.DataFrame, stations: int, path: Path) -> int:
    """Write the synthetic observations file; returns its number of rows."""
    frame = synthetic_observations(real, stations)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False)
    return len(frame)


def landmark_times(log: str, started: datetime) -> dict[str, datetime]:
    """When each landmark's last line was logged (lines carry the time of day only; a run
    that passes midnight is followed onto the next day)."""
    found, day, previous = {}, started.date(), started
    patterns = {stage: re.compile(pattern) for stage, pattern in LANDMARKS.items()}
    for line in log.splitlines():
        stamp = TIMESTAMP.match(line)
        if not stamp:
            continue
        hours, minutes, seconds, millis = (int(part) for part in stamp.groups())
        moment = datetime.combine(day, datetime.min.time()) + timedelta(
            hours=hours, minutes=minutes, seconds=seconds, milliseconds=millis
        )
        if moment < previous - timedelta(hours=1):
            day += timedelta(days=1)
            moment += timedelta(days=1)
        previous = moment
        for stage, pattern in patterns.items():
            if pattern.search(line):
                found[stage] = moment
    return found


def stage_seconds(log: str, started: datetime, seconds: float) -> dict[str, float]:
    """Seconds of each stage (see the module's docstring), from the process start to its end:
    a stage whose landmark is missing takes no time."""
    found = landmark_times(log, started)
    stages, previous = {}, started
    for stage in LANDMARKS:
        end = max(found.get(stage, previous), previous)
        stages[stage] = (end - previous).total_seconds()
        previous = end
    stages["shut-down"] = max(0.0, seconds - (previous - started).total_seconds())
    return {stage: round(value, 2) for stage, value in stages.items()}


def retrain(folder: Path, data: Path, stations: int, options: list[str]) -> dict:
    """Run `tempcast retrain --all` on the file in its own process with a fresh store in
    `folder`; its wall time, peak memory and stages, in total and per location."""
    started = datetime.now()
    history = {"TEMPCAST_FORECASTS_URI": f"sqlite:///{folder / 'forecasts.db'}"}
    command = run_command(["retrain", "--all", "--data", str(data), *options], folder, env=history)
    stages = stage_seconds((folder / "command.log").read_text(), started, command.seconds)
    fixed = stages["start-up"] + stages["shut-down"]
    tracking = stages["tracking"] + stages["promotion"]
    per_location = {
        "wall": command.seconds / stations,
        "without_start_up": (command.seconds - fixed) / stations,
        "data": stages["data"] / stations,
        "training": stages["training"] / stations,
        "tracking_registry": tracking / stations,
        "forecasts_charts": stages["forecasts"] / stations,
    }
    return {
        "locations": stations,
        "locations_trained": len(command.metrics),
        **means(command.metrics),
        "wall_s": round(command.seconds, 1),
        "cpu_s": round(command.cpu_seconds, 1),
        "peak_mib": round(command.peak_mib),
        "process_peak_mib": round(command.own_peak_mib),
        "stages_s": stages,
        "per_location_s": {name: round(value, 4) for name, value in per_location.items()},
    }


def same_results(threads: Path, dask: Path) -> dict:
    """Whether two runs on the same data registered the same versions (metrics, promotions)
    and published the same forecasts."""
    metrics = [
        pd.read_csv(folder / "out" / "metrics.csv").sort_values("location")
        for folder in (threads, dask)
    ]
    forecasts = [
        pd.read_csv(folder / "out" / "forecasts.csv").sort_values(["location", "month"])
        for folder in (threads, dask)
    ]
    keys = ["location", "model_version", "promoted"]
    difference = np.abs(forecasts[0]["forecast"].to_numpy() - forecasts[1]["forecast"].to_numpy())
    return {
        "same_versions_and_promotions": metrics[0][keys].to_numpy().tolist()
        == metrics[1][keys].to_numpy().tolist(),
        "max_test_mae_difference": float(
            np.abs(metrics[0]["test_mae"].to_numpy() - metrics[1]["test_mae"].to_numpy()).max()
        ),
        "same_forecast_rows": forecasts[0][["location", "month", "model_version"]]
        .to_numpy()
        .tolist()
        == forecasts[1][["location", "month", "model_version"]].to_numpy().tolist(),
        "max_forecast_difference": float(difference.max()),
    }


def side_by_side(runs: dict[int, dict]) -> dict[str, dict[int, float]]:
    """The sizes' main numbers, one row per number, one column per size."""
    rows = {
        "test_mae": {n: run["test_mae"] for n, run in runs.items()},
        "climatology_mae": {n: run["baseline_climatology_mae"] for n, run in runs.items()},
        "wall_s": {n: run["wall_s"] for n, run in runs.items()},
        "cpu_s": {n: run["cpu_s"] for n, run in runs.items()},
        "peak_mib": {n: run["peak_mib"] for n, run in runs.items()},
        "process_peak_mib": {n: run["process_peak_mib"] for n, run in runs.items()},
    }
    for stage in runs[next(iter(runs))]["stages_s"]:
        rows[f"{stage}_s"] = {n: run["stages_s"][stage] for n, run in runs.items()}
    for name in runs[next(iter(runs))]["per_location_s"]:
        rows[f"per_location_{name}_s"] = {n: run["per_location_s"][name] for n, run in runs.items()}
    return rows


def format_table(rows: dict[str, dict[int, float]]) -> str:
    """The side-by-side rows as a plain text table."""
    sizes = list(next(iter(rows.values())))
    lines = [f"{'N':<34}" + "".join(f"{n:>12}" for n in sizes)]
    for name, values in rows.items():
        lines.append(f"{name:<34}" + "".join(f"{values[n]:>12g}" for n in sizes))
    return "\n".join(lines)


def growth_per_location(runs: dict[int, dict]) -> dict[str, float]:
    """How the time per location grows from the second largest size to the largest: their
    ratio, for the wall time and for the wall time without start-up and shut-down."""
    small, large = sorted(runs)[-2:]
    return {
        name: round(runs[large]["per_location_s"][name] / runs[small]["per_location_s"][name], 3)
        for name in ("wall", "without_start_up")
    }


def run(
    sizes: tuple[int, ...] = SIZES,
    options: list[str] | None = None,
    folder: Path | None = None,
    dask: bool = False,
    data: Path | None = None,
) -> dict:
    """Retrain at every size (and, with `dask`, at the largest on Dask too); the numbers side by
    side, and how the time per location grows from the second largest size to the largest."""
    from tasks.data.ingest import resolve_data_path

    folder = folder or Path(tempfile.mkdtemp(prefix="tempcast-scale-"))
    real = kept_stations(data or resolve_data_path())
    options = list(options or [])
    runs, files = {}, {}
    for stations in sizes:
        files[stations] = folder / f"n{stations}" / "observations.csv"
        rows = write_observations(real, stations, files[stations])
        runs[stations] = {
            "rows": rows,
            **retrain(folder / f"n{stations}", files[stations], stations, options),
        }
    result: dict = {"sizes": runs, "side_by_side": side_by_side(runs)}
    if len(sizes) > 1:
        result["growth_per_location"] = growth_per_location(runs)
    if dask:
        largest = max(sizes)
        dask_options = [*options, "--task-runner", "dask", "--concurrency", "2"]
        run_dask = retrain(folder / f"n{largest}-dask", files[largest], largest, dask_options)
        result["dask"] = {
            **run_dask,
            **same_results(folder / f"n{largest}", folder / f"n{largest}-dask"),
        }
    return result


def main() -> None:
    """Parse options, run the sizes, print the table and the JSON, and save the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", type=int, default=list(SIZES))
    parser.add_argument("--dask", action="store_true", help="Also run the largest on Dask.")
    parser.add_argument("--json", type=Path, default=Path("benchmarks/results/scale.json"))
    parser.add_argument("--folder", type=Path, default=None, help="Keep the runs here.")
    options = parser.parse_args()
    result = run(tuple(options.sizes), folder=options.folder, dask=options.dask)
    options.json.parent.mkdir(parents=True, exist_ok=True)
    options.json.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))
    print(format_table(result["side_by_side"]))


if __name__ == "__main__":
    main()
