"""Check-in by phone number made safe (SQLite and PostgreSQL): a number never picks among several bookings nor hands
out a ticket already issued; the misses of one kiosk (or address) are limited; staff undo a check-in (audited) and
the booking's customer checks in again; the customer's own booking page says when it was checked in."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from server.domain.audit import AuditAction
from server.domain.booking import BookingRefused
from server.domain.errors import DomainError, NotFound
from server.domain.limits import Rate
from server.domain.tickets import Action
from server.persistence.audit import AuditFilter
from server.persistence.tables import TicketEvent
from server.services.audit import AuditLog
from server.services.booking import BookingService
from server.services.hall import HallService
from server.services.limits import AddressLimiter, TooManyRequests
from tests.conftest import RecordingPublisher, build_service
from tests.integration.test_booking import BRANCH, MANAGER, PHONE, ZHANG, at, book
from tests.integration.test_checkin import TODAY, hall_hours
from tests.support import FakeClock


@pytest.fixture
def hall(database_url: str, tmp_path: Path, clock: FakeClock) -> Iterator[HallService]:
    service = build_service(database_url, tmp_path, clock, RecordingPublisher(), more=hall_hours)
    yield service
    service.uow.engine.dispose()
    service.uow.read_engine.dispose()


@pytest.fixture
def audit(hall: HallService, clock: FakeClock) -> AuditLog:
    return AuditLog(hall.config, hall.uow, clock)


@pytest.fixture
def bookings(hall: HallService, audit: AuditLog, clock: FakeClock) -> BookingService:
    return BookingService(hall.config, hall.uow, audit, clock, tickets=hall.tickets)

def test_a_number_with_several_bookings_today_must_use_the_code(bookings: BookingService, hall: HallService,
                                                               clock: FakeClock) -> None:
    first = book(bookings, at(TODAY, "10:30"), service="PLAN")
    book(bookings, at(TODAY, "14:00"), service="PLAN")
    clock.advance(minutes=20)
    with pytest.raises(BookingRefused) as several:
        bookings.check_in(BRANCH, phone=PHONE)
    assert several.value.code == "several_bookings" and several.value.details["field"] == "phone"
    assert "10:30" not in str(several.value.details) and "14:00" not in str(several.value.details)
    with hall.uow.read() as session:
        assert session.execute(select(TicketEvent).where(TicketEvent.kind == "issued")).first() is None
    assert bookings.check_in(BRANCH, code=first["code"])["outcome"] == "appointment"


def test_a_number_never_hands_out_a_ticket_already_issued(bookings: BookingService, clock: FakeClock) -> None:
    made = book(bookings, at(TODAY, "10:30"))
    clock.advance(minutes=20)
    first = bookings.check_in(BRANCH, phone=PHONE)
    with pytest.raises(BookingRefused) as again:
        bookings.check_in(BRANCH, phone=PHONE)
    assert again.value.code == "already_checked_in"
    assert first["ticket"]["token"] not in str(again.value.details)
    # the code (the customer's own secret) still answers the same ticket after a lost answer
    assert bookings.check_in(BRANCH, code=made["code"])["ticket"]["token"] == first["ticket"]["token"]


def test_a_kiosks_phone_misses_are_limited_and_said_in_both_languages(hall: HallService, audit: AuditLog,
                                                                      clock: FakeClock) -> None:
    limited = BookingService(hall.config, hall.uow, audit, clock, tickets=hall.tickets,
                             phone_misses=AddressLimiter("phone_checkin_misses", Rate(2, timedelta(minutes=10))))
    made = book(limited, at(TODAY, "10:30"))
    clock.advance(minutes=20)
    for number in ("13700000001", "13700000002"):
        with pytest.raises(NotFound):
            limited.check_in(BRANCH, phone=number, address="10.0.0.5")
    with pytest.raises(TooManyRequests) as spent:
        limited.check_in(BRANCH, phone=PHONE, address="10.0.0.5")  # even the right number, from there, now
    assert spent.value.http_status == 429 and spent.value.details["limit"] == "phone_checkin_misses"
    assert spent.value.details["text"]["en"].startswith("Several phone numbers typed here found no booking")
    assert "预约码" in spent.value.details["text"]["zh-CN"]
    assert limited.check_in(BRANCH, phone=PHONE, address="10.0.0.6")["outcome"] == "appointment"  # elsewhere
    with pytest.raises(BookingRefused):  # the code is not held back by the misses (already checked in: same ticket)
        limited.check_in(BRANCH, phone=PHONE, address="10.0.0.7")
    assert limited.check_in(BRANCH, code=made["code"], address="10.0.0.5")["outcome"] == "already_checked_in"


def test_staff_undo_a_check_in_and_the_customer_checks_in_again(bookings: BookingService, hall: HallService,
                                                                audit: AuditLog, clock: FakeClock) -> None:
    made = book(bookings, at(TODAY, "10:30"))
    clock.advance(minutes=20)
    stranger = bookings.check_in(BRANCH, phone=PHONE)  # someone who knew the number
    seen = bookings.lookup(made["code"], PHONE)
    assert seen["checked_in"] and seen["checked_in_time"] == "10:20"
    assert seen["ticket_number"] == stranger["ticket"]["number"]
    undone = bookings.undo_checkin(BRANCH, made["code_display"], ZHANG)
    assert undone["checked_in"] is False and undone["state"] == "booked"
    assert hall.queries.ticket_by_token(stranger["ticket"]["token"])["state"] == "cancelled"
    [entry] = audit.search(MANAGER, AuditFilter(actions=(AuditAction.CHECKIN_UNDONE,)))
    assert entry.username == "zhang.wei" and entry.before == {"ticket": stranger["ticket"]["number"]}
    again = bookings.check_in(BRANCH, code=made["code"])
    assert again["outcome"] == "appointment" and again["ticket"]["id"] != stranger["ticket"]["id"]
    with hall.uow.read() as session:
        kinds = [e.kind for e in session.execute(select(TicketEvent).order_by(TicketEvent.seq)).scalars()]
    assert kinds.count("booking_checked_in") == 2 and "booking_changed" in kinds
    # once its ticket is called, a check-in stays: it is settled at the counter
    hall.counters.sign_in(BRANCH, "3", ZHANG)
    clock.advance(minutes=15)
    called = hall.counters.call_next(BRANCH, "3", ZHANG)["ticket"]
    assert called["id"] == again["ticket"]["id"]
    with pytest.raises(DomainError) as moved_on:
        bookings.undo_checkin(BRANCH, made["code"], ZHANG)
    assert moved_on.value.code == "ticket_moved_on" and moved_on.value.http_status == 409
    hall.tickets.act(BRANCH, called["id"], Action.START, ZHANG)


def test_only_staff_of_the_branch_undo_and_only_a_check_in(bookings: BookingService, clock: FakeClock) -> None:
    from server.domain.errors import NotAllowed
    from server.services.actor import Actor

    made = book(bookings, at(TODAY, "10:30"))
    with pytest.raises(DomainError) as not_yet:
        bookings.undo_checkin(BRANCH, made["code"], ZHANG)
    assert not_yet.value.code == "not_checked_in"
    with pytest.raises(NotAllowed):
        bookings.undo_checkin(BRANCH, made["code"], Actor("li.na", "staff"))  # works at another branch
