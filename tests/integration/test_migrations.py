"""The Alembic migrations build exactly the schema the SQLModel tables describe, and keep data."""

from __future__ import annotations

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text
from sqlmodel import SQLModel

import server.persistence.tables  # noqa: F401  (registers the tables)
from server.persistence.database import alembic_config, migrate


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


def test_the_tally_starts_from_the_tickets_waiting_at_upgrade_and_follows_every_write(database_url: str) -> None:
    command.upgrade(alembic_config(database_url), "0005")
    engine = create_engine(database_url)
    insert = text(
        "INSERT INTO ticket (token, branch_code, service_code, issued_service_code, service_day, sequence, number,"
        " priority, state, channel, language, issued_at, queued_at, recall_count, transferred, version,"
        " queue_key_us) VALUES (:token, 'X', :service, :service, '2026-11-25', :n, :token, 'normal', :state,"
        " 'kiosk', 'en', '2026-11-25 09:00:00', '2026-11-25 09:00:00', 0, :no, 1, 0)"
    )
    rows = [("A", "waiting"), ("A", "waiting"), ("A", "done"), ("B", "waiting"), ("B", "called")]
    with engine.begin() as connection:
        for n, (service, state) in enumerate(rows):
            connection.execute(insert, {"token": f"T{n}", "service": service, "n": n, "state": state, "no": False})
    migrate(database_url)

    def tally() -> dict[str, int]:
        with engine.connect() as connection:
            return dict(connection.execute(text("SELECT service_code, waiting FROM queue_tally"
                                                " WHERE branch_code = 'X' AND waiting > 0")).all())

    assert tally() == {"A": 2, "B": 1}
    with engine.begin() as connection:
        connection.execute(insert, {"token": "T9", "service": "C", "n": 9, "state": "waiting", "no": False})
        connection.execute(text("UPDATE ticket SET state = 'called' WHERE token = 'T0'"))
        connection.execute(text("UPDATE ticket SET service_code = 'C' WHERE token = 'T1'"))
        connection.execute(text("UPDATE ticket SET state = 'waiting' WHERE token = 'T4'"))
        connection.execute(text("DELETE FROM ticket WHERE token = 'T3'"))
    assert tally() == {"B": 1, "C": 2}
    command.downgrade(alembic_config(database_url), "0005")
    migrate(database_url)
    assert tally() == {"B": 1, "C": 2}
