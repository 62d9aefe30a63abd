"""What the replayed year left behind (benchmarks/replay.py), read from its stores: registered
versions and published forecasts per location and as_of (none duplicated), the live accuracy of
each month as its retrain scored it, and where the corrected month's backfill differs from the
run before the correction."""

import pandas as pd

from tasks.publish.history import read_forecasts

BACKTEST_KEY = ["as_of", "location", "month", "step"]


def version_counts(tracking_uri: str) -> dict[str, int]:
    """The registered versions: how many, how many (location, as_of) have one, and how many have
    more than one (a duplicate)."""
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=tracking_uri)
    versions = client.search_model_versions("name LIKE 'tempcast-%'")
    keys = pd.Series(
        [(v.name, client.get_run(v.run_id).data.params.get("as_of")) for v in versions],
        dtype=object,
    )
    per_key = keys.value_counts()
    return {
        "versions": len(versions),
        "location_months": len(per_key),
        "duplicated": int((per_key > 1).sum()),
    }


def forecast_counts(history_uri: str) -> dict[str, int]:
    """The forecast history: rows, as_of months, and (location, as_of) published by more than
    one model version (a duplicate)."""
    rows = read_forecasts(history_uri)
    versions = rows.groupby(["location", "as_of"])["model_version"].nunique()
    return {
        "rows": len(rows),
        "as_of": int(rows["as_of"].nunique()),
        "duplicated": int((versions > 1).sum()),
    }


def live_accuracy(history_uri: str) -> pd.DataFrame:
    """Per target month scored: the forecasts scored, the as_of that scored them (the month's
    own retrain when scored as it arrived), the mean absolute error of every lead and of the
    forecasts made the month before, and climatology's beside them."""
    rows = read_forecasts(history_uri, scored=True)
    rows = rows.assign(
        error=(rows["forecast"] - rows["actual"]).abs(),
        climatology_error=(rows["climatology"] - rows["actual"]).abs(),
    )
    first = rows[rows["lead"] == 1].groupby("month")
    table = rows.groupby("month").agg(
        scored=("error", "size"),
        scored_as_of=("scored_as_of", lambda values: ",".join(sorted(set(values)))),
        mae=("error", "mean"),
        climatology_mae=("climatology_error", "mean"),
    )
    table["mae_lead_1"] = first["error"].mean()
    table["climatology_mae_lead_1"] = first["climatology_error"].mean()
    return table.round(3).reset_index()


def backfill_difference(before: pd.DataFrame, after: pd.DataFrame) -> dict:
    """Where two backtests of the same origins differ: the rows compared, and the (location,
    month) cells whose actual value changed, the origins whose forecasts changed, per location."""
    both = before.merge(after, on=BACKTEST_KEY, suffixes=("_before", "_after"))
    actual = both[(both["actual_before"] - both["actual_after"]).abs() > 1e-9]
    forecast = both[(both["forecast_before"] - both["forecast_after"]).abs() > 1e-9]
    return {
        "rows_compared": len(both),
        "actual_changed": sorted({f"{r.location} {r.month}" for r in actual.itertuples()}),
        "forecast_changed": {
            str(location): sorted(set(group["as_of"]))
            for location, group in forecast.groupby("location")
        },
    }
