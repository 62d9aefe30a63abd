"""Benchmark: a replayed year, as production would have lived it (issue 26, item 3).

The real file is cut into the history up to 2016-05 and monthly drops from 2016-06 (twelve by
default), each written as the Bureau's per-station monthly files. Against a real Prefect server
with the retrain deployment and its month-complete trigger on a process worker, the history is
ingested, then each drop in turn (`tempcast ingest`, as a data engineer would); each ingest that
completes a month starts one retrain, by the event. Midway, a drop also re-issues two stations'
files of the month before (already forecast and scored) with corrected values: the ingest names
the backfill, which is run on the store before and after the correction. One drop arrives twice
(nothing added, no retrain). The worker is killed during one retrain and started again, and that
retrain is run again by hand (it resumes). At the end: the retrains by state, registered versions
and forecast rows per location and as_of (none duplicated), the wall time per month and the live
accuracy of the replayed months, scored as they arrived.

    python -m benchmarks.replay [--stations 44] [--months 12] [--epochs N] [--folder DIR]
"""

import argparse
import json
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from benchmarks.replay_data import FIRST_DROP, HISTORY_END, bureau_files, read_real, write_history
from benchmarks.replay_prefect import (
    ReplayError,
    deploy_retrain,
    finished_retrain,
    kill_and_restart,
    retrain_runs,
    run_counts,
    running_retrain,
    start_worker,
    still_running,
)
from benchmarks.replay_results import (
    backfill_difference,
    forecast_counts,
    live_accuracy,
    version_counts,
)
from tasks.data.months import month_range
from tests.support.prefect_server import TEMPCAST, prefect_env, prefect_server, stop_group

BACKFILL = re.compile(r"redo the backtest: tempcast (backfill .*)$", re.MULTILINE)
KILL_AFTER = 0.5  # how far into the retrain that loses its worker (of the last one's run time)
REPEAT_WAIT = 4.0  # seconds in which a repeated arrival's event would have started a retrain
CORRECTION_SHIFT = 2.0  # °C added to the corrected stations' values


@dataclass(frozen=True)
class Plan:
    """What to replay: the drop months, the retrain's settings, which drop also corrects two
    stations' month before, which arrives twice, which loses its worker, and the
    training options of the printed backfill (None: not run)."""

    folder: Path
    months: list[str]
    settings: dict[str, Any]
    correct_at: int | None = None
    repeat_at: int | None = None
    kill_at: int | None = None
    backfill_options: list[str] | None = None


@dataclass
class Replay:
    """A replay under way: the server, the environment of its commands, the deployment, the
    worker (replaced when killed) and what each month did."""

    api_url: str
    env: dict[str, str]
    folder: Path
    deployment_id: Any
    worker: Any = None
    months: list[dict[str, Any]] = field(default_factory=list)

    @property
    def log(self) -> Path:
        """The worker's log (flow runs' output included)."""
        return self.folder / "worker.log"

    def start_worker(self) -> Any:
        """Start a process worker on the pool; it is the replay's worker from now on."""
        self.worker = start_worker(self.env, self.log, self.folder)
        return self.worker


def tempcast(replay: Replay, *arguments: str, **env: str) -> str:
    """Run a tempcast command as a user would, in the replay's folder; its output."""
    done = subprocess.run(
        [str(TEMPCAST), *arguments],
        cwd=replay.folder,
        env={**replay.env, **env},
        capture_output=True,
        text=True,
        timeout=3600,
    )
    if done.returncode != 0:
        raise ReplayError(f"tempcast {' '.join(arguments[:2])}: {done.stderr[-2000:]}")
    return done.stdout


def kill_delay(replay: Replay) -> float:
    """How long after it starts running a retrain is killed: half the run time of the last
    completed one (so that it is killed in the middle, whatever the replay's size)."""
    runs = retrain_runs(replay.api_url, replay.deployment_id)
    done = [run.total_run_time for run in runs if run.state_type.value == "COMPLETED"]
    return KILL_AFTER * (done[-1].total_seconds() if done else 60.0)


def live_month(replay: Replay, month: str, files: list[Path], kill: bool = False) -> dict:
    """Ingest a month's files and wait for the retrain its event starts (killing the worker
    during it when `kill`); the wall time and what the ingest printed."""
    start, killed = time.monotonic(), frozenset()
    printed = tempcast(replay, "ingest", *map(str, files))
    if kill:
        delay = kill_delay(replay)
        run = running_retrain(replay.api_url, replay.deployment_id, month, replay.log)
        time.sleep(delay)  # well into the run: its first units tracked
        if still_running(replay.api_url, run):  # a quicker retrain is not killed
            kill_and_restart(replay.worker, run, replay.api_url, replay.start_worker)
            killed = frozenset([run.id])
    finished_retrain(replay.api_url, replay.deployment_id, month, replay.log, killed)
    seconds = round(time.monotonic() - start, 1)
    return {"month": month, "seconds": seconds, "killed": bool(killed), "printed": printed}


def arrives_again(replay: Replay, files: list[Path]) -> dict:
    """Ingest files a second time: what it printed and how many retrains that started."""
    before = len(retrain_runs(replay.api_url, replay.deployment_id))
    printed = tempcast(replay, "ingest", *map(str, files))
    time.sleep(REPEAT_WAIT)  # an event would have started a run by now
    started = len(retrain_runs(replay.api_url, replay.deployment_id)) - before
    return {"printed": printed, "retrains_started": started}


def store_path(folder: Path) -> Path:
    """The replay's observation store (SQLite)."""
    return folder / "observations.db"


def correction(frame: pd.DataFrame, month: str, plan: Plan) -> tuple[list, dict]:
    """The corrected files of two stations for `month` (values shifted), and a copy of the
    store as it was before they arrive."""
    stations = sorted(set(frame["Location"]))[:2]
    chosen = frame[frame["Location"].isin(stations)]
    files = bureau_files(chosen, month, plan.folder / "corrected", CORRECTION_SHIFT)
    shutil.copy(store_path(plan.folder), plan.folder / "before-correction.db")
    return files, {"month": month, "stations": stations}


def clamped(command: str, last: str) -> str:
    """The backfill command with its last origin no later than `last` (the last month the store
    had before the correction, so that both runs have the same origins) and without its
    `--data` (each run names its own copy of the store)."""
    end = re.search(r"--to (\S+)", command).group(1)
    command = re.sub(r"--data \S+ ", "", command)
    return command.replace(f"--to {end}", f"--to {min(end, last)}")


def run_backfill(replay: Replay, printed: str, plan: Plan, last: str) -> dict:
    """Run the backfill that the correction's ingest printed on the store before and after the
    correction (origins up to `last`); where their results differ."""
    found = BACKFILL.search(printed)
    if found is None:
        raise ReplayError(f"the correction's ingest printed no backfill:\n{printed}")
    command = clamped(found.group(1), last)
    outputs = {}
    for label, store in (("before", "before-correction.db"), ("after", "observations.db")):
        out = plan.folder / f"backfill-{label}"
        data = ["--data", f"sqlite:///{plan.folder / store}"]
        tempcast(replay, *command.split(), *data, *plan.backfill_options, "--out", str(out))
        outputs[label] = pd.read_csv(out / "backtest.csv")
    difference = backfill_difference(outputs["before"], outputs["after"])
    return {"command": f"tempcast {command}", **difference}


def environment(api_url: str, folder: Path) -> dict[str, str]:
    """The commands' and the worker's environment: the server, and every store in `folder`
    (the retrain reads the observation store)."""
    store = f"sqlite:///{store_path(folder)}"
    return prefect_env(
        api_url,
        folder / "prefect-home",
        TEMPCAST_OBSERVATIONS_URI=store,
        TEMPCAST_DATA=store,
        TEMPCAST_FORECASTS_URI=f"sqlite:///{folder / 'forecasts.db'}",
        MLFLOW_TRACKING_URI=f"sqlite:///{folder / 'mlflow.db'}",
        PREFECT_WORKER_QUERY_SECONDS="1",
    )


def corrected_month(plan: Plan, index: int) -> str:
    """The month the correcting drop re-issues: the month before (forecast, and scored by its
    own retrain)."""
    return plan.months[index - 1] if index else HISTORY_END


def drop(replay: Replay, frame: pd.DataFrame, plan: Plan, index: int) -> dict[str, Any]:
    """One monthly drop: its files (and the correction, at its drop) ingested, the retrain
    waited for; the backfill (at the correction) and the repeated arrival (at its drop)."""
    month, extra = plan.months[index], {}
    files = bureau_files(frame, month, plan.folder / month)
    if index == plan.correct_at:
        fixed, extra["correction"] = correction(frame, corrected_month(plan, index), plan)
        files = [*files, *fixed]
    replay.months.append(live_month(replay, month, files, kill=index == plan.kill_at))
    if index == plan.correct_at:
        printed = replay.months[-1]["printed"]
        extra["correction"]["printed"] = printed.splitlines()
        if plan.backfill_options is not None:
            extra["backfill"] = run_backfill(replay, printed, plan, corrected_month(plan, index))
    if index == plan.repeat_at:
        extra["repeated"] = {"month": month, **arrives_again(replay, files)}
    return extra


def summary(replay: Replay, extra: dict[str, Any]) -> dict[str, Any]:
    """What the replay left: per-month wall times, retrains by state, versions and forecasts
    (duplicates counted), the live accuracy, and what the correction and the repeat did."""
    runs = retrain_runs(replay.api_url, replay.deployment_id)
    completed = sorted(r.parameters["as_of"] for r in runs if r.state_type.value == "COMPLETED")
    return {
        "months": [{k: v for k, v in m.items() if k != "printed"} for m in replay.months],
        "retrains": run_counts(runs),
        "completed_as_of": completed,
        "versions": version_counts(replay.env["MLFLOW_TRACKING_URI"]),
        "forecasts": forecast_counts(replay.env["TEMPCAST_FORECASTS_URI"]),
        "live_accuracy": live_accuracy(replay.env["TEMPCAST_FORECASTS_URI"]).to_dict("records"),
        **extra,
    }


def replay_year(frame: pd.DataFrame, plan: Plan, api_url: str) -> dict[str, Any]:
    """Deploy the retrain, start a worker, ingest the history and then each drop; the summary."""
    plan.folder.mkdir(parents=True, exist_ok=True)
    deployment_id = deploy_retrain(api_url, plan.settings, plan.folder)
    replay = Replay(api_url, environment(api_url, plan.folder), plan.folder, deployment_id)
    replay.start_worker()
    extra: dict[str, Any] = {}
    try:
        history = write_history(frame, plan.folder)
        replay.months.append(live_month(replay, HISTORY_END, [history]))
        for index in range(len(plan.months)):
            extra |= drop(replay, frame, plan, index)
    finally:
        stop_group(replay.worker)
    return summary(replay, extra)


def training_options(training: dict[str, Any]) -> list[str]:
    """Training overrides as the commands' options (`--epochs 2 ...`)."""
    return [text for k, v in training.items() for text in (f"--{k.replace('_', '-')}", str(v))]


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line (`argv`, else the process's)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stations", type=int, default=44, help="how many stations (44: all)")
    parser.add_argument("--months", type=int, default=12, help="how many drops from 2016-06")
    parser.add_argument("--data", type=Path, default=Path("../shared/data/weatherAUS.csv.gz"))
    parser.add_argument("--folder", type=Path, help="where the stores go (default: a temp folder)")
    parser.add_argument("--epochs", type=int, help="training epochs (default: the recipe's)")
    parser.add_argument("--json", type=Path, default=Path("benchmarks/results/replay.json"))
    return parser.parse_args(argv)


def plan_of(options: argparse.Namespace, folder: Path | None = None) -> Plan:
    """The replay the options ask for: the correction at the middle drop, the repeat and the
    kill on the drops around it (where there are enough drops)."""
    count = options.months
    training = {"epochs": options.epochs} if options.epochs else {}
    folder = folder or options.folder or Path(tempfile.mkdtemp(prefix="tempcast-replay-"))
    middle = count // 2
    return Plan(
        folder=folder,
        months=month_range(FIRST_DROP, "2017-05")[:count],
        settings={"recipe": "default", "selection": "auto", "training": training},
        correct_at=middle if count >= 2 else None,
        repeat_at=max(middle - 1, 0),
        kill_at=min(middle + 1, count - 1),
        backfill_options=training_options(training),
    )


def run(folder: Path | None = None, options: argparse.Namespace | None = None) -> dict[str, Any]:
    """The replay the options ask for (default: the whole year, all stations) in `folder`, on
    its own Prefect server; its summary."""
    options = options or arguments([])
    plan = plan_of(options, folder)
    frame = read_real(options.data, options.stations)
    with prefect_server() as api_url:
        return replay_year(frame, plan, api_url)


def main() -> None:
    """Replay, print the summary and save it as JSON."""
    options = arguments()
    result = run(options=options)
    options.json.parent.mkdir(parents=True, exist_ok=True)
    options.json.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(json.dumps(result, indent=2, default=str))
    print(pd.DataFrame(result["live_accuracy"]).to_string(index=False))


if __name__ == "__main__":
    main()
