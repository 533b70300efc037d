"""Booking events (SQLite and PostgreSQL): booking, changing, cancelling and checking in write an event row each in
the branch's log, in the command's transaction; the notifier turns them into ``booking.*`` webhooks carrying the
code, branch, service, slot and state and never the phone number; the log's ``seq`` stays gapless; the hall's
screens get the events without the booking's code; the live side reads past them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from server.persistence.tables import TicketEvent
from server.realtime import public_event
from server.services.actor import Actor
from server.services.audit import AuditLog
from server.services.booking import BookingService
from server.services.hall import HallService
from server.services.live import LiveHall
from server.services.notifications import NotificationService
from tests.conftest import RecordingPublisher, build_service
from tests.integration.test_booking import BRANCH, PHONE, TOMORROW, at, book, hall_hours
from tests.integration.test_notifications import Listener, notifying
from tests.support import FakeClock

MANAGER = Actor("manager", "manager")
BOOKING_EVENTS = ["booking.made", "booking.changed", "booking.cancelled", "booking.checked_in"]


@pytest.fixture
def listener() -> Iterator[Listener]:
    got = Listener()
    yield got
    got.close()


@pytest.fixture
def publisher() -> RecordingPublisher:
    return RecordingPublisher()


@pytest.fixture
def hall(database_url: str, tmp_path: Path, clock: FakeClock, listener: Listener,
         publisher: RecordingPublisher) -> Iterator[HallService]:
    def more(data: dict[str, Any]) -> None:
        hall_hours(data)
        notifying(listener.url)(data)

    service = build_service(database_url, tmp_path, clock, publisher, more=more)
    yield service
    service.uow.engine.dispose()
    service.uow.read_engine.dispose()


@pytest.fixture
def bookings(hall: HallService, clock: FakeClock) -> BookingService:
    return BookingService(hall.config, hall.uow, AuditLog(hall.config, hall.uow, clock), clock, tickets=hall.tickets)


@pytest.fixture
def notifier(hall: HallService, clock: FakeClock) -> NotificationService:
    service = NotificationService(hall.config, hall.uow, clock, people_ahead=lambda b, t: None, jitter=lambda: 0.0)
    service.run_pass()  # the first pass starts the cursor at the log's end
    return service


def test_each_booking_command_becomes_its_webhook_without_the_phone(
        hall: HallService, bookings: BookingService, notifier: NotificationService, listener: Listener,
        clock: FakeClock) -> None:
    notifier.create_webhook(BRANCH, MANAGER, name="crm", url=listener.url, events=BOOKING_EVENTS, branches=None)
    first = book(bookings, at(TOMORROW, "10:00"))
    bookings.change(first["code"], PHONE, at(TOMORROW, "10:30"))
    bookings.cancel(first["code"], PHONE)
    today = book(bookings, at(clock.now.date(), "10:30"), phone="13900001111")  # the clock is 10:00 today
    clock.advance(minutes=20)
    checked = bookings.check_in(BRANCH, code=today["code"], device="kiosk-1")
    assert notifier.run_pass() == 5
    bodies = [json.loads(got["body"]) for got in listener.received]
    sent = ["booking.made", "booking.changed", "booking.cancelled", "booking.made", "booking.checked_in"]
    assert [b["event"] for b in bodies] == sent
    assert [got["headers"]["X-Hall-Event"] for got in listener.received] == sent
    made, changed, cancelled, _, came = (b["data"] for b in bodies)
    assert made == {"kind": "booking_made", "code": first["code_display"], "service": "PLAN",
                    "slot": first["start"], "state": "booked"}
    assert changed["slot"] != made["slot"] and changed["state"] == "booked"
    assert cancelled["state"] == "cancelled" and cancelled["code"] == first["code_display"]
    assert came["code"] == today["code_display"] and came["ticket"] == checked["ticket"]["number"]
    assert came["outcome"] == "appointment"
    assert all(b["branch"] == BRANCH for b in bodies)
    raw = b"".join(got["body"] for got in listener.received).decode()
    for secret in ("13812345678", "1234 5678", "13900001111", "王"):
        assert secret not in raw


def test_the_log_stays_gapless_and_screens_never_see_the_code(
        hall: HallService, bookings: BookingService, publisher: RecordingPublisher, clock: FakeClock) -> None:
    made = book(bookings, at(clock.now.date(), "10:30"))
    hall.tickets.issue(BRANCH, "BILL")
    clock.advance(minutes=20)
    ticket = bookings.check_in(BRANCH, code=made["code"])["ticket"]
    with hall.uow.read() as session:
        rows = session.execute(select(TicketEvent).where(TicketEvent.branch_code == BRANCH)
                               .order_by(TicketEvent.seq)).scalars().all()
    seqs = [r.seq for r in rows]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs)))
    kinds = [r.kind for r in rows]
    assert "booking_made" in kinds and "booking_checked_in" in kinds
    assert all("138" not in (r.data or "") for r in rows if r.kind.startswith("booking_"))
    recorded = [e for e in publisher.events if e["kind"].startswith("booking_")]
    assert [e["kind"] for e in recorded] == ["booking_made", "booking_checked_in"]
    assert [e["seq"] for e in publisher.events] == seqs[-len(publisher.events):]
    for event in recorded:
        assert made["code_display"] not in json.dumps(public_event(event))  # the hall's public room
        assert event["private"]["booking"] == made["code_display"]  # the staff room
    live = LiveHall(hall.config, hall.uow, clock)
    live.refresh(BRANCH)  # the live side learns past the booking kinds
    assert live.ticket_live(BRANCH, ticket["id"]) is not None
