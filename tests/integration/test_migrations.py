"""The Alembic migrations build exactly the schema the SQLModel tables describe, and keep data."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text
from sqlmodel import SQLModel

import server.persistence.tables  # noqa: F401  (registers the tables)
from server.persistence.database import migrate


def test_migrated_schema_matches_the_models(database_url: str) -> None:
    migrate(database_url)
    engine = create_engine(database_url)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), SQLModel.metadata)
    assert differences == []


def test_migrating_again_keeps_existing_rows(database_url: str) -> None:
    migrate(database_url)
    engine = create_engine(database_url)
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO branch_sequence (branch_code, seq) VALUES ('X', 41)"))
    migrate(database_url)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT seq FROM branch_sequence WHERE branch_code = 'X'")).scalar() == 41
