"""The observation store in a real PostgreSQL server (pgserver's binaries, on 127.0.0.1): the
embedded store's checks, each on a fresh set of tables."""

import inspect

import sqlalchemy as sa

from tasks.data import store_tables
from tests.support.postgres_server import postgres_server
from tests.unit import test_observation_store as checks

CHECKS = [
    checks.test_a_kaggle_file_is_stored_with_its_provenance_and_rejects,
    checks.test_the_same_file_again_adds_nothing_and_says_so,
    checks.test_a_correction_replaces_the_value_and_keeps_the_old_one_as_a_revision,
    checks.test_a_failure_in_the_middle_of_an_ingest_leaves_the_store_as_it_was,
    checks.test_the_store_reads_back_as_the_file_reads,
    checks.test_coverage_says_which_months_are_complete,
]


def drop_tables(url: str) -> None:
    """Remove the store's tables (the next check starts from none)."""
    engine = sa.create_engine(url)
    try:
        store_tables.metadata.drop_all(engine)
    finally:
        engine.dispose()


def test_the_observation_store_in_postgresql(tmp_path, monkeypatch):
    with postgres_server() as url:
        for check in CHECKS:
            folder = tmp_path / check.__name__
            folder.mkdir()
            given = {"tmp_path": folder, "uri": url, "monkeypatch": monkeypatch}
            check(**{name: given[name] for name in inspect.signature(check).parameters})
            monkeypatch.undo()
            drop_tables(url)
