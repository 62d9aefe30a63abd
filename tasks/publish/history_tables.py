"""The forecast history's tables, and bringing a history written by an older tempcast up to
date (see tasks.publish.history)."""

import sqlalchemy as sa

from schemas.forecasts import DISTRIBUTION_COLUMNS, FORECAST_KEY
from tasks.errors import InfrastructureError

metadata = sa.MetaData()
forecasts_table = sa.Table(
    "forecasts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("location", sa.String(64), nullable=False),
    sa.Column("as_of", sa.String(7), nullable=False),
    sa.Column("model_version", sa.Integer, nullable=False),
    sa.Column("month", sa.String(7), nullable=False, index=True),
    sa.Column("lead", sa.Integer, nullable=False),
    sa.Column("forecast", sa.Double, nullable=False),
    sa.Column("climatology", sa.Double),
    sa.Column("model_name", sa.String(128), nullable=False),
    sa.Column("run_id", sa.String(64), nullable=False),
    sa.Column("published_at", sa.DateTime(timezone=True), nullable=False),
    *(sa.Column(name, sa.Double) for name in DISTRIBUTION_COLUMNS),
    sa.UniqueConstraint(*FORECAST_KEY, name="uq_forecasts_key"),
)
scores_table = sa.Table(
    "forecast_scores",
    metadata,
    sa.Column("forecast_id", sa.ForeignKey("forecasts.id"), primary_key=True),
    sa.Column("actual", sa.Double, nullable=False),
    sa.Column("scored_as_of", sa.String(7), nullable=False),
    sa.Column("scored_at", sa.DateTime(timezone=True), nullable=False),
)
FORECAST_COLUMNS = [c.name for c in forecasts_table.columns if c.name != "id"]
SCORE_COLUMNS = ["actual", "scored_as_of", "scored_at"]
HISTORY_COLUMNS = ["id", *FORECAST_COLUMNS, *SCORE_COLUMNS]


def column_names(engine: sa.Engine, table: sa.Table) -> set[str]:
    """The names of the columns that the database's table has now."""
    return {column["name"] for column in sa.inspect(engine).get_columns(table.name)}


def add_missing_columns(engine: sa.Engine, table: sa.Table) -> list[str]:
    """Bring a table written by an older tempcast up to date: add each nullable column that it
    lacks, one ALTER TABLE each (its existing rows get NULL there); the names added. A column
    that a concurrent writer added meanwhile is taken as added; a missing column that may not
    be null cannot be added this way and is an error naming it."""
    missing = [column for column in table.columns if column.name not in column_names(engine, table)]
    required = [column.name for column in missing if not column.nullable]
    if required:
        raise InfrastructureError(
            f"table {table.name} lacks the required column(s) {', '.join(required)}"
        )
    quote = engine.dialect.identifier_preparer.quote
    for column in missing:
        kind = column.type.compile(dialect=engine.dialect)
        statement = f"ALTER TABLE {quote(table.name)} ADD COLUMN {quote(column.name)} {kind}"
        try:
            with engine.begin() as connection:
                connection.execute(sa.text(statement))
        except sa.exc.DBAPIError:
            if column.name not in column_names(engine, table):
                raise
    return [column.name for column in missing]
