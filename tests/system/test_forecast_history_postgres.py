"""The forecast history in a real PostgreSQL server (pgserver's binaries, on 127.0.0.1, in a
temporary folder): the same three retrains as with the embedded sqlite default, checked by hand
the same way."""

import pandas as pd

from tasks.publish.history import read_forecasts
from tests.support.history import check_three_retrains, three_retrains
from tests.support.postgres_server import postgres_server


def test_three_retrains_record_and_score_their_forecasts_in_postgresql(tracking_store, monkeypatch):
    with postgres_server() as url:
        assert url.startswith("postgresql+psycopg://postgres@127.0.0.1:")
        monkeypatch.setenv("TEMPCAST_FORECASTS_URI", url)
        results = three_retrains(tracking_store)
        expected = check_three_retrains(tracking_store, url, results)
        stored = read_forecasts(url)
        assert isinstance(stored["published_at"].dtype, pd.DatetimeTZDtype)
        assert stored["climatology"].notna().all()
    assert not (tracking_store / "forecasts.db").exists()
    print(f"\npostgresql: third retrain scored {expected['scored_now']}")
