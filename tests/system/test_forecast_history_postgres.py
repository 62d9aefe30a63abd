"""The forecast history in a real PostgreSQL server (pgserver's binaries, on 127.0.0.1, in a
temporary folder): the same three retrains as with the embedded sqlite default, checked by hand
the same way; and a history written before the distribution columns, migrated on first use."""

import pandas as pd

from tasks.publish.history import read_forecasts
from tests.support.forecasts import check_migration, distributed, stored_rows
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


def test_an_old_history_in_postgresql_is_migrated_on_first_use_and_nothing_in_it_lost():
    old_rows = pd.concat([stored_rows(), stored_rows(location="Bravo")], ignore_index=True)
    with postgres_server() as url:
        stored = check_migration(url, old_rows, distributed(stored_rows("2014-01", version=2)))
    assert stored["q10"].notna().sum() == 3
