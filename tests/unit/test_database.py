"""Creating the tables of a database that two commands open at once: the one that loses the race
finds the tables made and goes on; a failure that leaves them missing still fails."""

import pytest
import sqlalchemy as sa

from tasks.database import create_missing_tables
from tasks.publish.history_tables import metadata


def lost_the_race(engine: sa.Engine, monkeypatch) -> None:
    """Make every existence check say "missing", as it did for a command whose check ran just
    before another command created the tables."""
    monkeypatch.setattr(type(engine.dialect), "has_table", lambda *args, **kwargs: False)


def test_tables_made_by_another_command_in_between_are_used(tmp_path, monkeypatch):
    engine = sa.create_engine(f"sqlite:///{tmp_path / 'history.db'}")
    create_missing_tables(metadata, engine)  # the other command
    lost_the_race(engine, monkeypatch)
    with pytest.raises(sa.exc.OperationalError, match="already exists"):
        metadata.create_all(engine)  # what the race did before
    create_missing_tables(metadata, engine)
    assert set(metadata.tables) <= set(sa.inspect(engine).get_table_names())


def test_a_failure_that_leaves_tables_missing_is_raised(tmp_path):
    (tmp_path / "history.db").touch()
    engine = sa.create_engine(f"sqlite:///file:{tmp_path / 'history.db'}?mode=ro&uri=true")
    with pytest.raises(sa.exc.OperationalError, match="readonly database"):
        create_missing_tables(metadata, engine)
