"""The live side reads the future from the database: the day's roster and the booked appointments not checked in
yet lengthen the waits they should, and a roster change or a booking is seen at the next refresh."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from server.domain.estimation import WaitEstimate
from server.domain.roster import EntryKind, Shift
from server.services.actor import Actor
from server.services.audit import AuditLog
from server.services.booking import BookingService
from server.services.hall import HallService
from server.services.live import LiveHall
from tests.conftest import RecordingPublisher, build_service
from tests.support import FakeClock

B = "SZ-FUTIAN"
TODAY = date(2026, 11, 24)  # the clock starts on Tuesday 2026-11-24, 10:00 in Shanghai
ZHANG = Actor("zhang.wei", "staff")
MANAGER = Actor("manager", "manager")


def at(hhmm: str) -> datetime:
    """A Shanghai wall-clock time today as a UTC instant."""
    h, m = map(int, hhmm.split(":"))
    return datetime(TODAY.year, TODAY.month, TODAY.day, h, m, tzinfo=UTC) - timedelta(hours=8)


def bookable_bill(data: dict[str, Any]) -> None:
    """BILL bookable in half-hour slots, two seats each."""
    branch = data["branches"][0]
    branch["booking"] = {"horizon_days": 7, "change_cutoff_min": 5, "max_per_week": 2}
    for service in branch["services"]:
        if service["code"] == "BILL":
            service["booking"] = {"bookable": True, "slot_min": 30, "per_slot": 2}


@pytest.fixture
def hall(database_url: str, tmp_path: Path, clock: FakeClock) -> Iterator[tuple[HallService, LiveHall]]:
    service = build_service(database_url, tmp_path, clock, RecordingPublisher(), more=bookable_bill)
    live = LiveHall(service.config, service.uow, clock)
    service.estimates = live
    service.uow.subscribe(live.note_events)
    service.uow.on_plans_changed(live.note_plans_changed)  # as the app wires it
    yield service, live
    service.uow.engine.dispose()
    service.uow.read_engine.dispose()


def _bill_queue(service: HallService, clock: FakeClock, waiting: int) -> None:
    """Only counter 2 (BILL, PLAN) signed in, ``waiting`` BILL tickets taken in the last minute."""
    service.counters.sign_in(B, "2", ZHANG)
    for _ in range(waiting):
        service.tickets.issue(B, "BILL")
        clock.advance(seconds=10)


def _last_bill_wait(live: LiveHall) -> WaitEstimate:
    summary = live.summary(B)
    assert summary is not None
    estimate = summary["services"]["BILL"]["estimate"]
    assert estimate["known"], estimate
    return WaitEstimate(timedelta(minutes=estimate["expected_min"]), timedelta(minutes=estimate["low_min"]),
                        timedelta(minutes=estimate["high_min"]))


def test_a_roster_closing_the_only_bill_counter_soon_lengthens_a_waiting_bill_ticket(
        hall: tuple[HallService, LiveHall], clock: FakeClock) -> None:
    service, live = hall
    clock.advance(minutes=10)  # 10:10
    _bill_queue(service, clock, 2)
    waiting = service.tickets.issue(B, "BILL")
    live.refresh(B)
    without = live.ticket_live(B, waiting["id"])
    assert without is not None and without["estimate"]["known"]
    live.take_dirty()
    # the manager rosters Zhang at counter 2 until 10:15, five minutes from now; the refresh after sees it
    service.roster.add(B, MANAGER, TODAY, Shift("zhang.wei", 9 * 60, 10 * 60 + 15, EntryKind.WORK, "2"))
    assert live.take_dirty() == {B: False}
    live.refresh(B)
    rostered = live.ticket_live(B, waiting["id"])
    assert rostered is not None
    assert not rostered["estimate"]["known"] or rostered["estimate"]["expected_min"] > \
        without["estimate"]["expected_min"] + 3


def test_a_roster_that_keeps_the_counter_open_is_no_shorter_than_the_usual(
        hall: tuple[HallService, LiveHall], clock: FakeClock) -> None:
    service, live = hall
    clock.advance(minutes=10)
    _bill_queue(service, clock, 3)
    live.refresh(B)
    without = _last_bill_wait(live)
    service.roster.add(B, MANAGER, TODAY, Shift("zhang.wei", 9 * 60, 13 * 60, EntryKind.WORK, "2"))
    live.refresh(B)
    assert _last_bill_wait(live).expected == without.expected


def test_a_booked_bill_slot_in_ten_minutes_lengthens_a_new_walk_ins_estimate(
        hall: tuple[HallService, LiveHall], clock: FakeClock) -> None:
    service, live = hall
    bookings = BookingService(service.config, service.uow, AuditLog(service.config, service.uow, clock), clock)
    clock.advance(minutes=20)  # 10:20
    _bill_queue(service, clock, 4)
    live.refresh(B)
    walk_in = _last_bill_wait(live)
    ahead = live.summary(B)["services"]["BILL"]["ahead"]  # type: ignore[index]
    live.take_dirty()
    bookings.book(B, "BILL", at("10:30"), phone="138 1234 5678", name=None, consent=True, language="zh-CN",
                  actor=Actor(None))
    assert live.take_dirty() == {B: False}  # a booking asks for a refresh
    live.refresh(B)
    assert _last_bill_wait(live).expected > walk_in.expected + timedelta(minutes=2)
    tile = live.summary(B)["services"]["BILL"]  # type: ignore[index]
    assert (tile["ahead"], tile["booked_ahead"]) == (ahead, 1)  # the ticket will say ``ahead``; the tile adds 1
    # the issue compares the people it counts in the queue with the queue's count at the refresh, not the told one
    given = live.new_ticket_estimate(B, "BILL", people_ahead=ahead)
    assert given is not None and abs(given.expected - _last_bill_wait(live).expected) < timedelta(seconds=6)


def test_an_appointment_checked_in_early_is_estimated_from_its_slot_and_not_counted_ahead_of_sooner_walk_ins(
        hall: tuple[HallService, LiveHall], clock: FakeClock) -> None:
    """10:10: two BILL walk-ins wait at counter 2 (about 4 minutes each) and a BILL appointment for 10:30 checks in
    early. It is told its slot, not "now"; a walk-in called long before 10:30 is not told it stands behind it."""
    service, live = hall
    bookings = BookingService(service.config, service.uow, AuditLog(service.config, service.uow, clock), clock,
                              tickets=service.tickets)
    made = bookings.book(B, "BILL", at("10:30"), phone="138 1234 5678", name=None, consent=True, language="zh-CN",
                         actor=Actor(None))
    clock.advance(minutes=10)  # 10:10
    _bill_queue(service, clock, 2)
    checked_in = bookings.check_in(B, code=made["code_display"], language="en")
    assert checked_in["callable_from_time"] == "10:30"
    appointment = checked_in["ticket"]
    live.refresh(B)

    held = live.ticket_live(B, appointment["id"])
    assert held is not None and held["estimate"]["known"]
    assert held["estimate"]["low_min"] >= 19.5 and held["estimate"]["expected_min"] >= 19.5
    assert held["callable_from_time"] == "10:30"
    assert live.position(B, appointment["id"]) is None  # no "you're next" message before its slot
    tile = live.summary(B)["services"]["BILL"]  # type: ignore[index]
    assert tile["estimate"]["expected_min"] < 15 and tile["ahead"] == 2  # the two walk-ins, not the appointment

    walk_in = service.tickets.issue(B, "BILL")  # told as the tile: two ahead
    assert walk_in["people_ahead"] == 2
    page = service.queries.ticket_by_token(appointment["token"])
    assert page["callable_from_time"] == "10:30" and page["callable_from"] is not None
    assert page["estimate"]["expected_min"] >= 19.5
    assert service.queries.ticket_by_token(walk_in["token"])["callable_from"] is None

    clock.advance(minutes=21)  # 10:31: the hold is over; the appointment is called first
    live.refresh(B)
    over = live.ticket_live(B, appointment["id"])
    assert over is not None and over["callable_from"] is None and over["people_ahead"] == 0
    assert live.position(B, appointment["id"]) == 0
    assert service.queries.ticket_by_token(appointment["token"])["callable_from_time"] is None
