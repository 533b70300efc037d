"""Check-in of a booking (SQLite and PostgreSQL): the kiosk's by code or phone number, staff's by hand (audited);
an early arrival's appointment ticket is not called before its slot starts; a late one past the grace period becomes
a walk-in or is refused; a second check-in shows the same ticket; no-shows are counted."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from server.domain.audit import AuditAction
from server.domain.booking import BookingRefused
from server.domain.errors import NotAllowed
from server.domain.tickets import Action
from server.persistence.audit import AuditFilter
from server.persistence.tables import BookingRow, TicketEvent
from server.services.actor import Actor
from server.services.audit import AuditLog
from server.services.booking import BookingService
from server.services.hall import HallService
from tests.conftest import RecordingPublisher, build_service
from tests.integration.test_booking import BRANCH, MANAGER, PHONE, ZHANG, at, book, hall_hours, refused
from tests.support import FakeClock

TODAY = date(2026, 11, 24)  # the clock starts at 10:00 in Shanghai


def late_refused(data: dict[str, Any]) -> None:
    hall_hours(data)
    data["branches"][0]["booking"]["late_policy"] = "refuse"


def _hall(database_url: str, tmp_path: Path, clock: FakeClock, more: Any) -> HallService:
    return build_service(database_url, tmp_path, clock, RecordingPublisher(), more=more)


@pytest.fixture
def hall(database_url: str, tmp_path: Path, clock: FakeClock) -> Iterator[HallService]:
    service = _hall(database_url, tmp_path, clock, hall_hours)
    yield service
    service.uow.engine.dispose()
    service.uow.read_engine.dispose()


@pytest.fixture
def audit(hall: HallService, clock: FakeClock) -> AuditLog:
    return AuditLog(hall.config, hall.uow, clock)


@pytest.fixture
def bookings(hall: HallService, audit: AuditLog, clock: FakeClock) -> BookingService:
    return BookingService(hall.config, hall.uow, audit, clock, tickets=hall.tickets)


def call_next(hall: HallService, counter: str = "3", actor: Actor = ZHANG) -> dict[str, Any] | None:
    return hall.counters.call_next(BRANCH, counter, actor)["ticket"]


def test_early_check_in_by_code_waits_for_the_slot_then_is_called_first(
        hall: HallService, bookings: BookingService, clock: FakeClock) -> None:
    made = book(bookings, at(TODAY, "10:30"))
    hall.tickets.issue(BRANCH, "PLAN")  # a walk-in already waiting
    clock.advance(minutes=10)  # 10:10: 20 minutes early, inside the 30-minute window
    answer = bookings.check_in(BRANCH, code=made["code_display"].lower(), language="en")
    assert answer["outcome"] == "appointment" and answer["callable_from_time"] == "10:30"
    ticket = answer["ticket"]
    assert ticket["priority"] == "appointment" and ticket["token"]
    hall.counters.sign_in(BRANCH, "3", ZHANG)
    first = call_next(hall)
    assert first is not None and first["id"] != ticket["id"]  # the walk-in: the appointment is held
    hall.tickets.act(BRANCH, first["id"], Action.START, ZHANG)
    hall.counters.finish_and_call_next(BRANCH, "3", ZHANG)  # nothing callable yet
    hall.tickets.issue(BRANCH, "PLAN")  # another walk-in at 10:10
    clock.advance(minutes=20)  # 10:30: the slot opens
    called = call_next(hall)
    assert called is not None and called["id"] == ticket["id"]  # ahead of the walk-in, within its slot
    with hall.uow.read() as session:
        row = session.execute(select(BookingRow)).scalar_one()
        issued = session.execute(select(TicketEvent).where(TicketEvent.ticket_id == ticket["id"])).scalars().all()
    assert row.ticket_id == ticket["id"]
    assert issued[0].kind == "issued"  # through the normal issue path: its event, receipt and phone page


def test_a_second_check_in_shows_the_same_ticket(bookings: BookingService, clock: FakeClock) -> None:
    made = book(bookings, at(TODAY, "10:30"))
    clock.advance(minutes=25)
    first = bookings.check_in(BRANCH, code=made["code"])
    again = bookings.check_in(BRANCH, code=made["code_display"])
    assert again["outcome"] == "already_checked_in" and again["ticket"]["id"] == first["ticket"]["id"]
    assert again["ticket"]["token"] == first["ticket"]["token"]
    with pytest.raises(BookingRefused) as by_phone:  # a number alone never hands out the ticket again
        bookings.check_in(BRANCH, phone=PHONE)
    assert by_phone.value.code == "already_checked_in"


def test_too_early_says_when_to_come_back(bookings: BookingService, clock: FakeClock) -> None:
    made = book(bookings, at(TODAY, "11:30"))
    with pytest.raises(BookingRefused) as too_early:
        bookings.check_in(BRANCH, code=made["code"])
    assert too_early.value.code == "too_early" and too_early.value.details["come_back"] == "11:00"
    assert "11:00" in too_early.value.reason.zh and "11:00" in too_early.value.reason.en


def test_late_past_the_grace_becomes_a_walk_in(hall: HallService, bookings: BookingService,
                                              clock: FakeClock) -> None:
    book(bookings, at(TODAY, "10:30"))
    clock.advance(minutes=30 + 11)  # 10:41: one minute past the 10-minute grace
    answer = bookings.check_in(BRANCH, phone="+86 138-1234-5678")
    assert answer["outcome"] == "walk_in" and answer["late"]
    assert answer["ticket"]["priority"] == "normal" and answer["ticket"]["service"] == "PLAN"
    assert answer["callable_from"] is None


def test_late_within_the_grace_is_still_an_appointment(bookings: BookingService, clock: FakeClock) -> None:
    made = book(bookings, at(TODAY, "10:30"))
    clock.advance(minutes=40)
    answer = bookings.check_in(BRANCH, code=made["code"])
    assert answer["outcome"] == "appointment" and answer["late"] and answer["callable_from"] is None


def test_late_past_the_grace_is_refused_where_the_branch_says_so(
        database_url: str, tmp_path: Path, clock: FakeClock) -> None:
    hall = _hall(database_url, tmp_path, clock, late_refused)
    bookings = BookingService(hall.config, hall.uow, AuditLog(hall.config, hall.uow, clock), clock,
                              tickets=hall.tickets)
    made = book(bookings, at(TODAY, "10:30"))
    clock.advance(minutes=45)
    with refused("too_late"):
        bookings.check_in(BRANCH, code=made["code"])
    hall.uow.engine.dispose()
    hall.uow.read_engine.dispose()


def test_refusals_cancelled_other_day_other_branch_unknown(bookings: BookingService, clock: FakeClock) -> None:
    tomorrow = book(bookings, at(TODAY + timedelta(days=1), "10:30"))
    with refused("other_day"):
        bookings.check_in(BRANCH, code=tomorrow["code"])
    with refused("other_branch"):
        bookings.check_in("SZ-NANSHAN", code=tomorrow["code"])
    bookings.cancel(tomorrow["code"], PHONE)
    with refused("booking_cancelled"):
        bookings.check_in(BRANCH, code=tomorrow["code"])
    with refused("unknown_booking"):
        bookings.check_in(BRANCH, code="2345-6789")
    with refused("unknown_booking"):
        bookings.check_in(BRANCH, phone="13900000000")
    with refused("bad_code"):
        bookings.check_in(BRANCH, code="ABC")
    with refused("bad_checkin"):
        bookings.check_in(BRANCH)


def test_staff_check_a_customer_in_by_hand_audited(bookings: BookingService, audit: AuditLog,
                                                   clock: FakeClock) -> None:
    made = book(bookings, at(TODAY, "10:30"))
    clock.advance(minutes=25)
    with pytest.raises(NotAllowed):  # staff of another branch
        bookings.check_in(BRANCH, code=made["code"], actor=Actor("li.na", "staff"))
    answer = bookings.check_in(BRANCH, code=made["code"], actor=ZHANG)
    assert answer["outcome"] == "appointment"
    [entry] = audit.search(MANAGER, AuditFilter(actions=(AuditAction.CHECKED_IN_FOR_CUSTOMER,)))
    assert entry.username == "zhang.wei" and entry.after is not None and entry.after["outcome"] == "appointment"
    day = bookings.day(BRANCH, TODAY, ZHANG)
    assert day["bookings"][0]["checked_in"] is True


def test_no_shows_are_counted_after_the_slot_and_grace(bookings: BookingService, clock: FakeClock) -> None:
    book(bookings, at(TODAY, "10:30"))
    kept = book(bookings, at(TODAY, "11:00"), phone="13900001111")
    clock.advance(minutes=55)  # 10:55
    bookings.check_in(BRANCH, code=kept["code"])
    assert bookings.day(BRANCH, TODAY, ZHANG)["no_shows"] == 0  # 10:30-11:00 + 10 minutes not over yet
    clock.advance(minutes=16)  # 11:11
    day = bookings.day(BRANCH, TODAY, ZHANG)
    assert day["no_shows"] == 1 and [b["no_show"] for b in day["bookings"]] == [True, False]
    assert bookings.no_shows(BRANCH, TODAY, TODAY) == 1
