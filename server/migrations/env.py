"""Alembic environment: migrates the database named by the configuration's database URL."""

from alembic import context
from sqlalchemy import engine_from_config, pool, text
from sqlmodel import SQLModel

import server.persistence.tables  # noqa: F401  (registers the tables on SQLModel.metadata)

config = context.config
target_metadata = SQLModel.metadata

MIGRATION_LOCK = 7_190_213  # any fixed number: the PostgreSQL advisory lock that migrating processes queue on
MIGRATION_LOCK_TIMEOUT = "5s"
"""How long one migration statement may wait for a table's lock on PostgreSQL. An ALTER TABLE queued behind a long
transaction would make every command of the hall queue behind it; failing instead leaves the hall serving, and the
migration is run again (docs/deploy.md)."""


def run_migrations_offline() -> None:
    context.configure(url=config.get_main_option("sqlalchemy.url"), target_metadata=target_metadata,
                      literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connectable = engine_from_config(config.get_section(config.config_ini_section, {}), prefix="sqlalchemy.",
                                     poolclass=pool.NullPool)
    with connectable.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            if connection.dialect.name == "postgresql":
                # Several server processes started at once (systemd starting hall@ units, a rolling upgrade) each
                # migrate at start; without this the second one's CREATE TABLE alembic_version failed on a fresh
                # database. Held to the transaction's end, so the next process sees the newer revision.
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
                connection.execute(text(f"SET LOCAL lock_timeout = '{MIGRATION_LOCK_TIMEOUT}'"))
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
