"""Benchmark: a 12-origin rolling backtest of every location with the default recipe.

Runs `tempcast backfill` in its own process with a fresh tracking store and reports the wall
time, the MAE by forecast step against both baselines, and the overall means and skill.

    python -m benchmarks.backtest [--from 2014-12] [--to 2015-11] [--json PATH]
"""

import argparse
import json
import tempfile
from pathlib import Path

import pandas as pd

from benchmarks.speed import run_command

OVERALL = ["mae", "baseline_climatology_mae", "baseline_seasonal_naive_mae"]


def backtest(folder: Path, start: str, end: str, extra: list[str]) -> dict:
    """Run the backfill over the range and summarise its backtest."""
    command = ["backfill", "--from", start, "--to", end, "--all", *extra]
    run = run_command(command, folder, results="backtest_by_step.csv")
    rows = pd.read_csv(folder / "out" / "backtest.csv").dropna(subset=["actual"])
    errors = {
        "mae": rows["abs_error"],
        "baseline_climatology_mae": (rows["baseline_climatology"] - rows["actual"]).abs(),
        "baseline_seasonal_naive_mae": (rows["baseline_seasonal_naive"] - rows["actual"]).abs(),
    }
    means = {name: round(float(values.mean()), 4) for name, values in errors.items()}
    by_step = run.metrics.set_index("step")[OVERALL].round(3)
    return {
        "range": f"{start}..{end}",
        "origins": int(rows["as_of"].nunique()),
        "locations": int(rows["location"].nunique()),
        "months_scored": len(rows),
        "seconds": round(run.seconds, 1),
        "peak_mib": round(run.peak_mib),
        "overall": means,
        "skill_vs_climatology": round(1 - means["mae"] / means["baseline_climatology_mae"], 4),
        "by_step": by_step.reset_index().to_dict(orient="records"),
    }


def main() -> None:
    """Parse options, run the backtest, print and save the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from", dest="start", default="2014-12")
    parser.add_argument("--to", dest="end", default="2015-11")
    parser.add_argument("--json", type=Path, default=Path("benchmarks/results/backtest.json"))
    options = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="tempcast-backtest-"))
    result = backtest(folder, options.start, options.end, [])
    options.json.parent.mkdir(parents=True, exist_ok=True)
    options.json.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
