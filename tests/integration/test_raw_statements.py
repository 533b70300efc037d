"""Hot-path statements on the driver cursor store values exactly as the ORM does (SQLite and PostgreSQL)."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import bindparam, insert, select
from sqlmodel import Session

from server.persistence.database import make_engine, migrate
from server.persistence.raw import RawStatement, constants, utc_datetime
from server.persistence.tables import TicketRow
from tests.support import demo_config

TICKETS = TicketRow.__table__
COLUMNS = [c.name for c in TICKETS.columns if c.name != "id"]
INSERT = RawStatement(insert(TICKETS).returning(TICKETS.c.id), COLUMNS)
SELECT = RawStatement(select(TICKETS.c.number, TICKETS.c.queued_at, TICKETS.c.transferred).where(
    TICKETS.c.id == bindparam("ticket_id"), TICKETS.c.state.in_(constants(["waiting", "called"]))))


def _values(number: str, at: datetime) -> dict[str, object]:
    values: dict[str, object] = dict.fromkeys(COLUMNS)
    values.update(token=f"token-{number}", branch_code="SZ-FUTIAN", service_code="BILL", issued_service_code="BILL",
                  service_day=date(2026, 11, 24), sequence=1, number=number, priority="normal", state="waiting",
                  channel="kiosk", language="en", issued_at=at, queued_at=at, queue_key_us=123, recall_count=0,
                  transferred=True, remote=False, version=1)
    return values


def test_a_row_written_on_the_cursor_reads_back_through_the_orm(database_url: str, tmp_path: Path) -> None:
    config = demo_config(database_url, tmp_path)
    migrate(config.server.database_url)
    engine = make_engine(config.server.database_url)
    at = datetime(2026, 11, 24, 2, 0, 0, tzinfo=UTC)  # whole seconds: SQLite's own adapter would drop ".000000"
    with Session(engine) as session, session.begin():
        row = INSERT.first(session.connection(), _values("A001", at))
        assert row is not None
        ticket_id = int(row[0])
    with Session(engine) as session:
        ticket = session.get(TicketRow, ticket_id)
        assert ticket is not None
        assert (ticket.queued_at, ticket.service_day, ticket.transferred) == (at, date(2026, 11, 24), True)
        found = SELECT.first(session.connection(), {"ticket_id": ticket_id})
        assert found is not None
        assert found[0] == "A001" and utc_datetime(found[1]) == at and bool(found[2])
        # and the ORM's own comparison finds it, so the stored text sorts like the ORM's
        assert session.execute(select(TicketRow.id).where(TicketRow.queued_at == at)).scalar_one() == ticket_id


def test_a_statement_needing_expanded_parameters_is_refused(database_url: str, tmp_path: Path) -> None:
    config = demo_config(database_url, tmp_path)
    migrate(config.server.database_url)
    engine = make_engine(config.server.database_url)
    expanding = RawStatement(select(TICKETS.c.id).where(TICKETS.c.state.in_(["waiting", "called"])))
    with Session(engine) as session, pytest.raises(ValueError, match="constants"):
        expanding.first(session.connection(), {})


def test_utc_datetime_reads_both_drivers_forms() -> None:
    assert utc_datetime(None) is None
    assert utc_datetime("2026-11-24 02:00:00.000000") == datetime(2026, 11, 24, 2, tzinfo=UTC)
    assert utc_datetime(datetime(2026, 11, 24, 2)) == datetime(2026, 11, 24, 2, tzinfo=UTC)


def test_converted_rows_equal_cores_rows(database_url: str, tmp_path: Path) -> None:
    """``rows``/``one`` convert each column as Core does: datetimes (aware, through ``UTCDateTime``), dates,
    booleans and NULLs come back equal to a Core query's, so the hot reads of whole rows build the same objects."""
    config = demo_config(database_url, tmp_path)
    migrate(config.server.database_url)
    engine = make_engine(config.server.database_url)
    at = datetime(2026, 11, 24, 2, 0, 0, 123456, tzinfo=UTC)
    whole = RawStatement(select(*TICKETS.columns).where(TICKETS.c.id == bindparam("ticket_id")))
    with Session(engine) as session, session.begin():
        row = INSERT.first(session.connection(), _values("A002", at) | {"called_at": at, "counter_number": "3"})
        assert row is not None
        ticket_id = int(row[0])
    with Session(engine) as session:
        connection = session.connection()
        core = connection.execute(select(*TICKETS.columns).where(TICKETS.c.id == ticket_id)).one()
        raw = whole.one(connection, {"ticket_id": ticket_id})
        assert raw == tuple(core)
        assert raw is not None and raw[list(TICKETS.columns.keys()).index("called_at")] == at
        assert whole.one(connection, {"ticket_id": ticket_id + 1}) is None
        assert whole.rows(connection, {"ticket_id": ticket_id}) == [tuple(core)]


def test_the_hot_reads_build_what_core_built(database_url: str, tmp_path: Path) -> None:
    """A ticket by id and at its counter, a counter's session and a staff session, read on the cursor, equal the
    same reads through Core."""
    from server.domain.counter_session import CounterSession
    from server.persistence import counter_sessions, staff_sessions, tickets
    from server.persistence.staff_sessions import StoredSession

    config = demo_config(database_url, tmp_path)
    migrate(config.server.database_url)
    engine = make_engine(config.server.database_url)
    at = datetime(2026, 11, 24, 2, 0, 0, 500, tzinfo=UTC)
    with Session(engine) as session, session.begin():
        connection = session.connection()
        row = INSERT.first(connection, _values("A003", at) | {"state": "called", "called_at": at,
                                                              "counter_number": "3", "staff_username": "li.na"})
        assert row is not None
        ticket_id = int(row[0])
        counter_sessions.save(connection, CounterSession("SZ-FUTIAN", "3", staff_username="li.na", signed_in_at=at,
                                                         paused=True, pause_reason="break", paused_at=at,
                                                         services=("BILL", "SIM")))
        staff_sessions.add(connection, StoredSession("k" * 64, "li.na", "c" * 64, at, at))
    with Session(engine) as session:
        connection = session.connection()
        core_ticket = tickets.from_row(connection.execute(
            select(*TICKETS.columns).where(TICKETS.c.id == ticket_id)).one())
        fields = [f.name for f in dataclasses.fields(core_ticket)]
        assert _fields(tickets.get(connection, "SZ-FUTIAN", ticket_id), fields) == _fields(core_ticket, fields)
        assert _fields(tickets.at_counter(connection, "SZ-FUTIAN", "3"), fields) == _fields(core_ticket, fields)
        assert tickets.at_counter(connection, "SZ-FUTIAN", "4") is None
        assert core_ticket.called_at == at and core_ticket.transferred is True
        stored = counter_sessions.get(connection, "SZ-FUTIAN", "3")
        names = [f.name for f in dataclasses.fields(CounterSession)]
        assert _fields(stored, names) == _fields(counter_sessions.for_branch(connection, "SZ-FUTIAN")["3"], names)
        assert stored is not None and stored.paused is True and stored.paused_at == at
        assert stored.services == ("BILL", "SIM")
        assert staff_sessions.get(connection, "k" * 64) == StoredSession("k" * 64, "li.na", "c" * 64, at, at)
        assert staff_sessions.get(connection, "x" * 64) is None


def _fields(value: object, names: list[str]) -> dict[str, object]:
    return {name: getattr(value, name) for name in names}
