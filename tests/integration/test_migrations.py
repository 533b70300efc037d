"""The Alembic migrations build exactly the schema the SQLModel tables describe, and keep data."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, text
from sqlmodel import SQLModel

import server.persistence.tables  # noqa: F401  (registers the tables)
from server.domain.errors import NotFound
from server.domain.tickets import Action
from server.persistence.database import alembic_config, migrate
from server.services.actor import Actor
from server.services.announcements import AnnouncementService
from server.services.devices import DeviceService
from server.services.ratings import RatingService
from tests.conftest import RecordingPublisher, build_service
from tests.device_helpers import paired_actor
from tests.support import IN_CI, FakeClock, fresh_postgres_database

BRANCH = "SZ-FUTIAN"


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


def test_on_postgresql_ids_and_sequence_numbers_run_past_32_bits(postgres_base_url: str | None, tmp_path: Path) -> None:
    """Migration 0007: a ticket, its events, its rating and the follow-up numbered beyond 2,147,483,647."""
    if postgres_base_url is None:
        if IN_CI:
            pytest.fail("PostgreSQL is not installed; CI must test on it (apt-get install postgresql)")
        pytest.skip("PostgreSQL is not installed")
    clock = FakeClock()
    hall = build_service(fresh_postgres_database(postgres_base_url), tmp_path, clock, RecordingPublisher())
    start = 2**31 + 10
    with hall.uow.engine.begin() as connection:
        for table in ("ticket", "ticket_event", "rating", "follow_up", "media_item", "notice", "device"):
            connection.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), {start})"))
    staff = Actor("zhang.wei", "staff")
    hall.counters.sign_in(BRANCH, "2", staff)
    issued = hall.tickets.issue(BRANCH, "BILL")
    ticket_id = hall.counters.call_next(BRANCH, "2", staff)["ticket"]["id"]
    hall.tickets.act(BRANCH, ticket_id, Action.START, staff)
    hall.tickets.act(BRANCH, ticket_id, Action.FINISH, staff)
    ratings = RatingService(hall.config, hall.uow, clock=clock)
    ratings.rate_at_counter(BRANCH, "2", ticket_id, 1, actor=staff)
    assert ticket_id > start and issued["id"] == ticket_id
    pad, _ = paired_actor(DeviceService(hall.config, hall.uow, clock), "pad", "2")
    assert pad.paired is not None and pad.paired.id is not None and pad.paired.id > start
    with hall.uow.engine.connect() as connection:
        event_ids = connection.execute(text("SELECT id FROM ticket_event WHERE ticket_id = :t"),
                                       {"t": ticket_id}).scalars().all()
        rating_id, follow_up_rating = connection.execute(text(
            "SELECT rating.id, follow_up.rating_id FROM rating JOIN follow_up ON follow_up.ticket_id = rating.ticket_id"
            " WHERE rating.ticket_id = :t"), {"t": ticket_id}).one()
    assert len(event_ids) >= 4 and min(event_ids) > start
    assert rating_id > start and follow_up_rating == rating_id
    # numbers a request may name, up to the largest the API routes, are compared, not refused by the database
    largest = 2**63 - 1
    assert hall.queries.events_since(BRANCH, largest) == []
    with pytest.raises(NotFound):
        AnnouncementService(hall.config, hall.uow).announcement(BRANCH, largest)
    with pytest.raises(NotFound):
        ratings.rate_at_counter(BRANCH, "2", largest, 1, actor=pad)
