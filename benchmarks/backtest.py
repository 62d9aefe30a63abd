"""Benchmark: a rolling-origin backtest of every location, the default recipe beside the
strongest simple forecasters and their predictive distributions, scored on the same rows.

Runs `tempcast backfill --from 2012-06 --to 2015-11 --all` (42 origins) in its own process with a
fresh tracking store, or scores an existing backtest.csv (`--rows PATH`). Then, on the data as
of each origin (the prepared table cut there, as the backfill prepares it), fits the peers of
`benchmarks.peers` (AutoETS with its own intervals, the two-harmonic regression with conformal
intervals, the climatological distribution, a Gaussian around the harmonic regression). Every
forecaster is scored on exactly the model's rows (as_of, location, step) with an observed month:
a peer without a forecast for one of them is an error, never a smaller average. Scores, overall
and for steps 1-3, 4-12 and 13-18: MAE, coverage of the 50/80/90/95% central intervals, the
quantile score over the seven published levels (QS) and over 1%..99% (QS99), the interval score
of the 80% interval, the Brier score of `p_above_median` beside climatology's; wall times.

    python -m benchmarks.backtest [--from 2012-06] [--to 2015-11] [--rows PATH] [--json PATH]
"""

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from benchmarks.peers import (
    DENSE_COLUMNS,
    DENSE_LEVELS,
    NORMAL,
    distribution_columns,
    peer_distributions,
)
from benchmarks.speed import run_command
from tasks.calls import as_function
from tasks.data.ingest import IngestResult, ingest_observations, resolve_data_path
from tasks.data.locations import LocationSeries, location_series
from tasks.data.prepared import Prepared, prepare_data
from tasks.errors import TempcastError
from tasks.model.scores import INTERVALS, probabilistic_scores, quantile_scores
from tasks.model.uncertainty import QUANTILE_COLUMNS, location_spread

KEYS = ["as_of", "location", "step"]
STEP_GROUPS = {"steps_1_3": (1, 3), "steps_4_12": (4, 12), "steps_13_18": (13, 18)}
POINT_COLUMNS = {
    "default_recipe": "forecast",
    "climatology": "baseline_climatology",
    "seasonal_naive": "baseline_seasonal_naive",
}
PEERS = ("auto_ets", "harmonic_conformal", "climatology_gaussian", "harmonic_gaussian")
FORECASTERS = (*POINT_COLUMNS, *PEERS)
DISTRIBUTION_COLUMNS = [*QUANTILE_COLUMNS, "p_above_median"]
PEER_COLUMNS = [*KEYS, "point", *DISTRIBUTION_COLUMNS, *DENSE_COLUMNS]
OUTCOME_COLUMNS = [*KEYS, "median", "base_rate"]
# The backfill's wall time last measured before the uncertainty work (about 48 minutes).
BACKFILL_SECONDS_BEFORE = 2880.0
QS99_NOTE = (
    "QS99 (1%..99%): peers from their own distributions; the default recipe's quantiles rebuilt"
    " from its published ones by its symmetric table (linear in coverage between the 50/80/90/95%"
    " half-widths; the 98% half-width, needed at 1-2% and 98-99%, extrapolated Gaussian-shaped"
    " from the 95% one)"
)
TABLE_COLUMNS = {  # score: (heading, format)
    "months": ("months", "{:>6.0f}"),
    "mae": ("MAE", "{:>6.4f}"),
    "coverage_50": ("cov50", "{:>5.3f}"),
    "coverage_80": ("cov80", "{:>5.3f}"),
    "coverage_90": ("cov90", "{:>5.3f}"),
    "coverage_95": ("cov95", "{:>5.3f}"),
    "quantile_score": ("QS", "{:>6.4f}"),
    "quantile_score_99": ("QS99", "{:>6.4f}"),
    "interval_score_80": ("IS80", "{:>6.4f}"),
    "brier": ("Brier", "{:>6.4f}"),
    "brier_climatology": ("BrClim", "{:>6.4f}"),
}


def prepared_as_of(ingested: IngestResult, as_of: pd.Period) -> Prepared:
    """The data as the backfill prepares it as of a month (its steps called directly)."""
    return prepare_data(ingested, "auto", None, as_of, call=as_function)


def step_values(own: pd.DataFrame, column: str, horizon: int) -> np.ndarray:
    """A column of one origin's and location's rows by step 1..horizon (NaN where absent)."""
    return own.set_index("step")[column].reindex(range(1, horizon + 1)).to_numpy(float)


def location_peers(series: LocationSeries, own: pd.DataFrame) -> list[pd.DataFrame]:
    """Every peer's forecast rows for one origin and location (`own`: the model's rows there),
    and one more (forecaster "outcome") with the calendar medians and the base rate: those of
    backtest.csv where it has them, else the same derived from the known months."""
    horizon = int(own["step"].max())
    spread = location_spread(series, 2)
    ahead = series.calendar(len(series) + horizon)[len(series) :]
    medians, base_rate = spread.medians[ahead], np.full(horizon, spread.base_rate)
    if "median" in own.columns:
        medians = step_values(own, "median", horizon)
        base_rate = step_values(own, "base_rate", horizon)
    keys = {"as_of": own["as_of"].iloc[0], "location": series.location}
    steps = np.arange(1, horizon + 1)
    peers = {
        name: distribution_columns(peer, medians)
        for name, peer in peer_distributions(series, horizon).items()
    }
    names = list(peers)
    stacked = {c: np.concatenate([peers[n][c] for n in names]) for c in peers[names[0]]}
    forecasts = {"step": np.tile(steps, len(names)), "forecaster": np.repeat(names, horizon)}
    outcome = {"step": steps, "forecaster": "outcome", "median": medians, "base_rate": base_rate}
    return [pd.DataFrame({**keys, **forecasts, **stacked}), pd.DataFrame({**keys, **outcome})]


def peer_forecasts(rows: pd.DataFrame, data: Path) -> pd.DataFrame:
    """Every peer's forecasts (one row per forecaster, as_of, location, step) for every origin
    and location of the backtest, fit on the data prepared as of each origin."""
    ingested = ingest_observations.fn(data)
    frames = []
    for as_of, origin_rows in rows.drop_duplicates(KEYS).groupby("as_of"):
        prepared = prepared_as_of(ingested, pd.Period(as_of, freq="M"))
        names = sorted(origin_rows["location"].unique())
        by_location = dict(tuple(origin_rows.groupby("location")))
        for name, series in location_series(prepared, names).items():
            frames.extend(location_peers(series, by_location[name]))
    return pd.concat(frames, ignore_index=True)


def aligned(
    rows: pd.DataFrame, forecasts: pd.DataFrame, forecaster: str, columns: list[str]
) -> pd.DataFrame:
    """The rows with one forecaster's `columns` on the same (as_of, location, step); a row
    without a forecast (or with a missing value in one) is an error naming its origin and
    location. The rows may repeat a key (two origins whose data end in the same month, as
    the backfill forecasts an as_of without data from the month before): each row counts, as
    the backfill's own scores count it."""
    own = forecasts.loc[forecasts["forecaster"] == forecaster, columns]
    joined = rows.merge(own, on=KEYS, how="left", validate="many_to_one", indicator=True)
    added = [c for c in columns if c not in KEYS]
    missing = (joined["_merge"] == "left_only") | joined[added].isna().any(axis="columns")
    if missing.any():
        first = joined[missing].iloc[0]
        raise TempcastError(
            f"{forecaster} has no forecast for origin {first['as_of']}, location"
            f" {first['location']}, step {first['step']} ({int(missing.sum())} row(s) of the"
            " model's in all): forecasters are only compared on the same rows"
        )
    return joined.drop(columns="_merge")


def with_outcomes(rows: pd.DataFrame, peers: pd.DataFrame) -> pd.DataFrame:
    """The rows with `median`, `above_median` and `base_rate`: backtest.csv's own when it has
    them (peers use the same), else derived from the data as of each origin."""
    if {"median", "above_median", "base_rate"} <= set(rows.columns):
        return rows
    outcomes = aligned(rows, peers, "outcome", OUTCOME_COLUMNS)
    above = np.where(outcomes["actual"].isna(), np.nan, outcomes["actual"] > outcomes["median"])
    return outcomes.assign(above_median=above)


def rebuilt_dense(frame: pd.DataFrame) -> np.ndarray:
    """The default recipe's quantiles at DENSE_LEVELS from its published ones (see QS99_NOTE)."""
    coverages = np.array([0.0, *(level / 100 for level in INTERVALS), 0.98])
    halves = [(frame[high] - frame[low]).to_numpy(float) / 2 for low, high in INTERVALS.values()]
    widest = halves[-1] * NORMAL.inv_cdf(0.99) / NORMAL.inv_cdf(0.975)
    knots = np.column_stack([np.zeros(len(frame)), *halves, widest])
    coverage = np.abs(2 * DENSE_LEVELS - 1)
    weights = np.column_stack([np.interp(coverage, coverages, unit) for unit in np.eye(6)])
    half = knots @ weights.T
    return frame["q50"].to_numpy(float)[:, None] + np.sign(DENSE_LEVELS - 0.5) * half


def model_frame(rows: pd.DataFrame, forecaster: str) -> pd.DataFrame:
    """A point forecaster of backtest.csv as a table to score (`point`); the default recipe
    with its distribution when backtest.csv has its quantile columns."""
    frame = rows.assign(point=rows[POINT_COLUMNS[forecaster]])
    if forecaster != "default_recipe":
        return frame.drop(columns=DISTRIBUTION_COLUMNS, errors="ignore")
    if set(QUANTILE_COLUMNS) <= set(rows.columns):
        dense = pd.DataFrame(rebuilt_dense(rows), columns=DENSE_COLUMNS, index=rows.index)
        frame = pd.concat([frame, dense], axis="columns")
    return frame


def block_scores(frame: pd.DataFrame) -> dict[str, float]:
    """MAE, the probabilistic scores where the forecaster has quantiles, and QS99 where it has
    the dense quantiles, over a table of observed months."""
    actual = frame["actual"].to_numpy(float)
    result = {"months": float(len(frame)), "mae": float(np.mean(np.abs(frame["point"] - actual)))}
    if frame.empty:
        return result
    result.update(probabilistic_scores(frame))
    if set(DENSE_COLUMNS) <= set(frame.columns):
        dense = frame[DENSE_COLUMNS].to_numpy(float)
        result["quantile_score_99"] = float(quantile_scores(actual, dense, DENSE_LEVELS).mean())
    return {name: round(value, 4) for name, value in result.items()}


def forecaster_scores(frame: pd.DataFrame) -> dict[str, dict[str, float]]:
    """A forecaster's scores overall and by step group."""
    result = {"overall": block_scores(frame)}
    for name, (first, last) in STEP_GROUPS.items():
        result[name] = block_scores(frame[frame["step"].between(first, last)])
    return result


def score_rows(rows: pd.DataFrame, data: Path) -> dict:
    """Score the backtest's rows beside every peer fit on the data as of each origin."""
    started = time.perf_counter()
    peers = peer_forecasts(rows, data)
    peer_seconds = time.perf_counter() - started
    rows = with_outcomes(rows, peers)
    frames = {name: model_frame(rows, name) for name in POINT_COLUMNS}
    outcome_rows = rows.drop(columns=DISTRIBUTION_COLUMNS, errors="ignore")
    for name in PEERS:
        frames[name] = aligned(outcome_rows, peers, name, PEER_COLUMNS)
    scored = {name: frame.dropna(subset=["actual"]) for name, frame in frames.items()}
    months = scored["default_recipe"]
    return {
        "range": f"{months['as_of'].min()}..{months['as_of'].max()}",
        "origins": int(months["as_of"].nunique()),
        "locations": int(months["location"].nunique()),
        "months_scored": len(months),
        "repeated_rows": int(rows.duplicated(KEYS).sum()),
        "peers_seconds": round(peer_seconds, 1),
        "qs99": QS99_NOTE,
        "forecasters": {name: forecaster_scores(frame) for name, frame in scored.items()},
    }


def backtest(folder: Path, start: str, end: str, extra: list[str]) -> dict:
    """Run the backfill over the range, add the peers, and score every forecaster."""
    command = ["backfill", "--from", start, "--to", end, "--all", *extra]
    run = run_command(command, folder, results="backtest_by_step.csv")
    rows = pd.read_csv(folder / "out" / "backtest.csv")
    data = resolve_data_path(extra[extra.index("--data") + 1] if "--data" in extra else None)
    timing = {
        "backfill_seconds": round(run.seconds, 1),
        "backfill_seconds_before": BACKFILL_SECONDS_BEFORE,
        "backfill_peak_mib": round(run.peak_mib),
    }
    return {**timing, **score_rows(rows, data)}


def format_table(result: dict) -> str:
    """The scores as a readable table: one line per forecaster and step group."""
    header = ["forecaster".ljust(21), "steps".ljust(11)]
    header += [label.rjust(len(fmt.format(0))) for label, fmt in TABLE_COLUMNS.values()]
    lines = [" ".join(header)]
    for name, groups in result["forecasters"].items():
        for group, numbers in groups.items():
            cells = [name.ljust(21), group.ljust(11)]
            for column, (_, fmt) in TABLE_COLUMNS.items():
                value = numbers.get(column)
                cells.append("-".rjust(len(fmt.format(0))) if value is None else fmt.format(value))
            lines.append(" ".join(cells))
    return "\n".join(lines)


def main() -> None:
    """Parse options, run (or read) the backtest, print the table and save the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--from", dest="start", default="2012-06")
    parser.add_argument("--to", dest="end", default="2015-11")
    parser.add_argument("--rows", type=Path, help="score this backtest.csv (no backfill run)")
    parser.add_argument("--data", help="the observations file (found automatically)")
    parser.add_argument("--json", type=Path, default=Path("benchmarks/results/backtest.json"))
    options = parser.parse_args()
    if options.rows:
        rows = pd.read_csv(options.rows)
        result = {"rows": str(options.rows), "backfill_seconds": None}
        result |= {"backfill_seconds_before": BACKFILL_SECONDS_BEFORE}
        result |= score_rows(rows, resolve_data_path(options.data))
    else:
        extra = ["--data", options.data] if options.data else []
        folder = Path(tempfile.mkdtemp(prefix="tempcast-backtest-"))
        result = backtest(folder, options.start, options.end, extra)
    options.json.parent.mkdir(parents=True, exist_ok=True)
    options.json.write_text(json.dumps(result, indent=2) + "\n")
    print(format_table(result))
    print(result["qs99"])
    print(f"JSON: {options.json}")


if __name__ == "__main__":
    main()
