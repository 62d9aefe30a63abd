"""Forecast frames as tasks/publish/forecasts.py publishes them (the contract with the serving
work: location, month, forecast, the quantiles q025..q975 with q50 == forecast, p_above_median,
as_of, model_version), and a forecast history in the schema that tempcast wrote before the
distribution columns existed."""

from statistics import NormalDist

import numpy as np
import pandas as pd
import sqlalchemy as sa

from tasks.model.uncertainty import LEVELS, QUANTILE_COLUMNS

RUN = "0123456789abcdef0123456789abcdef"
PUBLISHED = pd.Timestamp("2014-01-02 03:00", tz="UTC")


def stored_rows(
    as_of: str = "2013-12", version: int = 1, months: int = 3, location: str = "Alpha"
) -> pd.DataFrame:
    """Forecast history rows of one location, as_of and version: forecast 10, 11, 12..."""
    targets = pd.period_range(pd.Period(as_of, freq="M") + 1, periods=months, freq="M")
    return pd.DataFrame(
        {
            "location": location,
            "as_of": as_of,
            "month": [str(m) for m in targets],
            "lead": np.arange(1, months + 1),
            "forecast": 10.0 + np.arange(months),
            "climatology": 9.0 + np.arange(months),
            "model_name": f"tempcast-{location.lower()}",
            "model_version": version,
            "run_id": RUN,
            "published_at": PUBLISHED,
        }
    )


def distributed(frame: pd.DataFrame) -> pd.DataFrame:
    """History rows with a distribution: Gaussian quantiles (sd 1) around the forecast, a 60%
    chance of a warmer-than-median month, the median 0.1 above climatology."""
    return with_distribution(frame).assign(median=frame["climatology"] + 0.1, base_rate=0.48)


CONTRACT_COLUMNS = [
    *("location", "month", "forecast", *QUANTILE_COLUMNS, "p_above_median", "as_of"),
    "model_version",
]


def gaussian_quantiles(forecast: np.ndarray, spread: np.ndarray | float) -> np.ndarray:
    """Quantiles at LEVELS (months, levels) of Gaussians around the forecasts, standard
    deviation `spread` (one per month, or one for all)."""
    z = np.array([NormalDist().inv_cdf(level) for level in LEVELS])
    return np.asarray(forecast, float)[:, None] + np.asarray(spread, float).reshape(-1, 1) * z


def with_distribution(
    frame: pd.DataFrame, spread: np.ndarray | float = 1.0, p_above: float = 0.6
) -> pd.DataFrame:
    """The frame (it has `forecast`) with Gaussian quantiles around it and a chance of a
    warmer-than-median month."""
    quantiles = gaussian_quantiles(frame["forecast"].to_numpy(float), spread)
    return frame.assign(
        **dict(zip(QUANTILE_COLUMNS, quantiles.T, strict=True)), p_above_median=p_above
    )


def forecast_frame(
    location: str, as_of: str, version: str, forecast: list[float], spread: float = 1.0
) -> pd.DataFrame:
    """A published forecast of the months after as_of, in the contract's columns."""
    start = pd.Period(as_of, freq="M") + 1
    months = pd.period_range(start, periods=len(forecast), freq="M").astype(str)
    frame = pd.DataFrame(
        {
            "location": location,
            "month": months,
            "forecast": forecast,
            "as_of": as_of,
            "model_version": version,
        }
    )
    return with_distribution(frame, spread)[CONTRACT_COLUMNS]


# The two tables as tempcast created them before the distribution columns, in plain SQL ({id}:
# an auto-numbered key, {time}: a timestamp with its time zone, in each dialect's words).
OLD_SCHEMA = [
    """CREATE TABLE forecasts (id {id} PRIMARY KEY, location VARCHAR(64) NOT NULL,
    as_of VARCHAR(7) NOT NULL, model_version INTEGER NOT NULL, month VARCHAR(7) NOT NULL,
    lead INTEGER NOT NULL, forecast DOUBLE PRECISION NOT NULL, climatology DOUBLE PRECISION,
    model_name VARCHAR(128) NOT NULL, run_id VARCHAR(64) NOT NULL, published_at {time} NOT NULL,
    CONSTRAINT uq_forecasts_key UNIQUE (location, as_of, model_version, month))""",
    "CREATE INDEX ix_forecasts_month ON forecasts (month)",
    """CREATE TABLE forecast_scores (forecast_id INTEGER NOT NULL PRIMARY KEY
    REFERENCES forecasts (id), actual DOUBLE PRECISION NOT NULL,
    scored_as_of VARCHAR(7) NOT NULL, scored_at {time} NOT NULL)""",
]
OLD_TYPES = {
    "sqlite": {"id": "INTEGER", "time": "DATETIME"},
    "postgresql": {"id": "SERIAL", "time": "TIMESTAMP WITH TIME ZONE"},
}
OLD_COLUMNS = [
    *("location", "as_of", "model_version", "month", "lead", "forecast", "climatology"),
    *("model_name", "run_id"),
]


def old_history(uri: str, rows: pd.DataFrame, actual: float) -> None:
    """A forecast history as the code before the distribution columns wrote it: its two tables
    (plain SQL, independent of tasks.publish.history), the rows (their old columns) and an
    actual value for the first of them."""
    stamp = sa.DateTime(timezone=True)  # stored as SQLAlchemy stores a timestamp
    forecasts = sa.table(
        "forecasts", *map(sa.column, OLD_COLUMNS), sa.column("published_at", stamp)
    )
    scores = sa.table(
        "forecast_scores",
        *map(sa.column, ["forecast_id", "actual", "scored_as_of"]),
        sa.column("scored_at", stamp),
    )
    records = rows[[*OLD_COLUMNS, "published_at"]].to_dict("records")
    for record in records:
        record["published_at"] = record["published_at"].to_pydatetime()
    engine = sa.create_engine(uri)
    try:
        with engine.begin() as connection:
            for statement in OLD_SCHEMA:
                connection.execute(sa.text(statement.format(**OLD_TYPES[engine.dialect.name])))
            connection.execute(sa.insert(forecasts), records)
            first = connection.execute(sa.text("SELECT min(id) FROM forecasts")).scalar_one()
            score = {"forecast_id": first, "actual": actual, "scored_as_of": "2014-01"}
            connection.execute(
                sa.insert(scores), [{**score, "scored_at": records[0]["published_at"]}]
            )
    finally:
        engine.dispose()


def check_migration(uri: str, old_rows: pd.DataFrame, new_rows: pd.DataFrame) -> pd.DataFrame:
    """Write `old_rows` in the old schema (the first scored 10.5), append `new_rows` (with the
    distribution columns) through the current code, and assert that the old rows and their
    score are intact with NULL distribution columns and the new rows carry theirs; returns
    what is stored."""
    from schemas.forecasts import DISTRIBUTION_COLUMNS
    from tasks.publish import history

    old_history(uri, old_rows, actual=10.5)
    assert history.append_forecasts(uri, new_rows) == len(new_rows)
    assert history.append_forecasts(uri, old_rows) == 0  # still recognised as stored
    stored = history.read_forecasts(uri).set_index(history.FORECAST_KEY)
    assert len(stored) == len(old_rows) + len(new_rows)
    old = stored.loc[old_rows.set_index(history.FORECAST_KEY).index]
    for column in ("lead", "forecast", "climatology", "model_name", "run_id", "published_at"):
        assert old[column].tolist() == old_rows[column].tolist(), column
    assert old["actual"].iloc[0] == 10.5 and old["actual"].iloc[1:].isna().all()
    assert old[DISTRIBUTION_COLUMNS].isna().all().all()
    new = stored.loc[new_rows.set_index(history.FORECAST_KEY).index]
    np.testing.assert_allclose(new[DISTRIBUTION_COLUMNS], new_rows[DISTRIBUTION_COLUMNS])
    return stored.reset_index()
