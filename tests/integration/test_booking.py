"""Online appointments on a real database (SQLite and PostgreSQL): slots with seats left, booking, look-up, change,
cancel, the per-phone rules, staff booking for a customer (audited), the phone kept as a contact under the privacy
rules, and many clients booking the last seat at once (exactly one wins)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from server.domain.audit import AuditAction
from server.domain.booking import BookingRefused
from server.domain.errors import DomainError, NotAllowed, NotFound, Unauthenticated
from server.persistence.audit import AuditFilter
from server.persistence.tables import BookingRow, CustomerContact
from server.services.actor import Actor
from server.services.audit import AuditLog
from server.services.booking import BookingService
from server.services.hall import HallService
from server.services.privacy import PrivacyService
from tests.conftest import RecordingPublisher, build_service
from tests.support import FakeClock

BRANCH = "SZ-FUTIAN"
PHONE = "138 1234 5678"
TOMORROW = date(2026, 11, 25)  # the clock starts on Tuesday 2026-11-24, 10:00 in Shanghai
MANAGER = Actor("manager", "manager")
ZHANG = Actor("zhang.wei", "staff")


def at(day: date, hhmm: str) -> datetime:
    """A Shanghai wall-clock time as a UTC instant."""
    h, m = map(int, hhmm.split(":"))
    return datetime(day.year, day.month, day.day, h, m, tzinfo=UTC) - timedelta(hours=8)


def hall_hours(data: dict[str, Any]) -> None:
    """The demo hall open 09:00-12:00 and 13:30-17:00; PLAN bookable, 1 seat a half hour; another branch."""
    branch = data["branches"][0]
    branch["hours"] = "09:00-12:00, 13:30-17:00"
    branch["booking"] = {"horizon_days": 7, "change_cutoff_min": 60, "max_per_week": 2}
    for service in branch["services"]:
        if service["code"] == "PLAN":
            service["booking"] = {"bookable": True, "slot_min": 30, "per_slot": 1}
    other = {**{k: v for k, v in branch.items() if k not in ("kiosks", "exceptions", "region")},
             "code": "SZ-NANSHAN", "name": {"zh-CN": "南山营业厅", "en": "Nanshan Hall"},
             "latitude": 22.53, "longitude": 113.93, "district": {"zh-CN": "南山区", "en": "Nanshan District"}}
    data["branches"].append(other)
    for account in data["staff"]:
        if account["username"] == "li.na":
            account["branches"] = ["SZ-NANSHAN"]


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
    return BookingService(hall.config, hall.uow, audit, clock)


def book(bookings: BookingService, start: datetime, *, phone: str = PHONE, branch: str = BRANCH,
         service: str = "PLAN", actor: Actor | None = None, consent: bool = True) -> dict[str, Any]:
    return bookings.book(branch, service, start, phone=phone, name="王小明", consent=consent, language="zh-CN",
                         actor=actor or Actor(None))


class refused:
    """Expects a :class:`DomainError` with this code."""

    def __init__(self, code: str) -> None:
        self.code = code

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, exc: Any, tb: Any) -> bool:
        assert isinstance(exc, DomainError), f"expected {self.code}, got {exc!r}"
        assert exc.code == self.code, (exc.code, exc.message)
        return True


def test_a_days_slots_follow_the_hours_and_count_the_seats_left(bookings: BookingService) -> None:
    day = bookings.slots(BRANCH, "PLAN", TOMORROW)
    times = [s["time"] for s in day["slots"]]
    assert times[:2] == ["09:00", "09:30"] and "11:30" in times and "12:00" not in times
    assert times[6] == "13:30" and times[-1] == "16:30"  # 16:30-17:00 is the last whole slot after lunch
    assert all(s["seats"] == 1 and s["left"] == 1 for s in day["slots"])
    book(bookings, at(TOMORROW, "09:30"))
    left = {s["time"]: s["left"] for s in bookings.slots(BRANCH, "PLAN", TOMORROW)["slots"]}
    assert left["09:30"] == 0 and left["09:00"] == 1
    # today's slots before now (10:00) are shown with nothing left; beyond the horizon there are none
    today = {s["time"]: s["left"] for s in bookings.slots(BRANCH, "PLAN", date(2026, 11, 24))["slots"]}
    assert today["09:30"] == 0 and today["10:30"] == 1
    assert bookings.slots(BRANCH, "PLAN", TOMORROW + timedelta(days=7))["slots"] == []
    with refused("not_bookable"):
        bookings.slots(BRANCH, "BILL", TOMORROW)


def test_book_look_up_change_and_cancel_with_the_code_and_phone(hall: HallService, bookings: BookingService,
                                                               clock: FakeClock) -> None:
    made = book(bookings, at(TOMORROW, "09:00"))
    assert len(made["code"]) == 8 and made["phone"] == "138 1234 5678" and made["state"] == "booked"
    assert made["time"] == "09:00" and made["may_change"] is True
    assert bookings.lookup(made["code"].lower(), "+86 138-1234-5678")["code"] == made["code"]
    with refused("unknown_booking"):
        bookings.lookup(made["code"], "13900000000")  # the right code with another number says nothing more
    moved = bookings.change(made["code"], PHONE, at(TOMORROW, "14:00"))
    assert moved["time"] == "14:00"
    left = {s["time"]: s["left"] for s in bookings.slots(BRANCH, "PLAN", TOMORROW)["slots"]}
    assert left["09:00"] == 1 and left["14:00"] == 0  # the old seat is free again
    clock.now = at(TOMORROW, "13:01")  # 59 minutes before: past the 60-minute cut-off
    with refused("past_cutoff"):
        bookings.cancel(made["code"], PHONE)
    clock.now = at(TOMORROW, "12:59")
    cancelled = bookings.cancel(made["code"], PHONE)
    assert cancelled["state"] == "cancelled"
    assert {s["time"]: s["left"] for s in bookings.slots(BRANCH, "PLAN", TOMORROW)["slots"]}["14:00"] == 1
    with refused("booking_cancelled"):
        bookings.change(made["code"], PHONE, at(TOMORROW, "15:00"))


def test_the_rules_of_one_phone_number(bookings: BookingService) -> None:
    book(bookings, at(TOMORROW, "09:00"))
    with refused("overlapping_booking"):  # the same time at another branch
        book(bookings, at(TOMORROW, "09:00"), branch="SZ-NANSHAN")
    book(bookings, at(TOMORROW, "10:00"))
    with refused("weekly_limit"):  # two a week in one branch
        book(bookings, at(date(2026, 11, 27), "10:00"))
    book(bookings, at(date(2026, 11, 30), "10:00"))  # next Monday: a new week
    book(bookings, at(TOMORROW, "11:00"), branch="SZ-NANSHAN")  # another branch counts its own week
    with refused("slot_full"):
        book(bookings, at(TOMORROW, "09:00"), phone="13900001111")
    with refused("no_such_slot"):
        book(bookings, at(TOMORROW, "09:10"), phone="13900001111")
    with refused("slot_started"):
        book(bookings, at(date(2026, 11, 24), "09:30"), phone="13900001111")
    with refused("outside_horizon"):
        book(bookings, at(TOMORROW + timedelta(days=7), "09:30"), phone="13900001111")
    with refused("consent_required"):
        book(bookings, at(TOMORROW, "15:00"), phone="13900001111", consent=False)
    with refused("bad_phone"):
        book(bookings, at(TOMORROW, "15:00"), phone="12345")


def test_the_phone_is_a_contact_under_the_privacy_rules(hall: HallService, bookings: BookingService,
                                                        audit: AuditLog, clock: FakeClock) -> None:
    made = book(bookings, at(TOMORROW, "09:00"))
    with hall.uow.read() as session:
        contact = session.execute(select(CustomerContact)).scalars().one()
        row = session.execute(select(BookingRow)).scalars().one()
    assert contact.purpose == "appointment" and contact.booking_id == row.id and contact.phone == "+8613812345678"
    # kept contact_days_after_resolved (30) after the slot, at most contact_max_days (90) after it was given
    assert contact.purge_after == at(TOMORROW, "09:30") + timedelta(days=30)
    privacy = PrivacyService(hall.config, hall.uow, audit, clock)
    assert privacy.find(BRANCH, PHONE, MANAGER)["counts"]["contacts"] == 1
    privacy.delete(BRANCH, PHONE, MANAGER)
    with refused("unknown_booking"):  # the number is gone: nobody can open the booking with it any more
        bookings.lookup(made["code"], PHONE)
    staff_view = bookings.day(BRANCH, TOMORROW, ZHANG)["bookings"]
    assert staff_view[0]["phone"] is None and staff_view[0]["state"] == "booked"


def test_staff_book_for_a_customer_audited_and_see_the_day_masked(bookings: BookingService, audit: AuditLog) -> None:
    made = book(bookings, at(TOMORROW, "10:00"), actor=ZHANG)
    assert made["channel"] == "staff"
    [entry] = audit.search(MANAGER, AuditFilter(actions=(AuditAction.BOOKED_FOR_CUSTOMER,)))
    assert entry.username == "zhang.wei" and "138****5678" in str(entry.after) and "12345678" not in str(entry.after)
    day = bookings.day(BRANCH, TOMORROW, ZHANG)
    assert day["bookings"][0]["phone"] == "138****5678" and day["bookings"][0]["name"] == "王*"
    assert day["bookings"][0]["booked_by"] == "zhang.wei"
    with pytest.raises(Unauthenticated):
        bookings.day(BRANCH, TOMORROW, Actor(None))
    with pytest.raises(NotAllowed):  # li.na works at the other branch only
        bookings.day(BRANCH, TOMORROW, Actor("li.na", "staff"))
    with pytest.raises(NotAllowed):
        book(bookings, at(TOMORROW, "11:00"), actor=Actor("li.na", "staff"))


def test_the_booked_slots_of_the_next_minutes(bookings: BookingService, clock: FakeClock) -> None:
    book(bookings, at(date(2026, 11, 24), "10:30"))
    book(bookings, at(date(2026, 11, 24), "11:30"), phone="13900001111")
    book(bookings, at(TOMORROW, "09:00"), phone="13900002222")
    upcoming = bookings.booked_between(BRANCH, clock(), 120)
    assert [(s["service"], s["bookings"]) for s in upcoming] == [("PLAN", 1), ("PLAN", 1)]
    assert upcoming[0]["start"] == at(date(2026, 11, 24), "10:30").isoformat()


def test_many_clients_booking_the_last_seat_at_once_exactly_one_wins(bookings: BookingService,
                                                                     hall: HallService) -> None:
    start = at(TOMORROW, "15:00")
    clients = 12
    barrier = threading.Barrier(clients)
    won: list[str] = []
    lost: list[str] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def client(n: int) -> None:
        barrier.wait()
        try:
            made = book(bookings, start, phone=f"139{n:08d}")
            with lock:
                won.append(made["code"])
        except BookingRefused as exc:
            with lock:
                lost.append(exc.code)
        except BaseException as exc:  # surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    assert len(won) == 1 and lost == ["slot_full"] * (clients - 1)
    with hall.uow.read() as session:
        rows = session.execute(select(BookingRow).where(BookingRow.slot_start == start)).scalars().all()
    assert [r.code for r in rows] == won


def test_one_phone_booking_two_branches_at_once_gets_one(bookings: BookingService) -> None:
    """The per-phone rules hold under concurrency across branches too (PostgreSQL: a lock on the number)."""
    start = at(TOMORROW, "16:00")
    barrier = threading.Barrier(2)
    results: list[str] = []

    def client(branch: str) -> None:
        barrier.wait()
        try:
            book(bookings, start, branch=branch)
            results.append("booked")
        except BookingRefused as exc:
            results.append(exc.code)

    threads = [threading.Thread(target=client, args=(b,)) for b in (BRANCH, "SZ-NANSHAN")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(results) == ["booked", "overlapping_booking"]


def test_branches_nearest_first(bookings: BookingService) -> None:
    by_district = [b["code"] for b in bookings.branches()]
    assert by_district == ["SZ-FUTIAN", "SZ-NANSHAN"]  # Futian District before Nanshan District
    near_nanshan = bookings.branches(22.52, 113.92)
    assert [b["code"] for b in near_nanshan] == ["SZ-NANSHAN", "SZ-FUTIAN"]
    assert near_nanshan[0]["distance_km"] < 2 < near_nanshan[1]["distance_km"]


def test_an_unknown_code_or_branch(bookings: BookingService) -> None:
    with pytest.raises(NotFound):
        bookings.lookup("ABCD2345", PHONE)
    with refused("bad_code"):
        bookings.lookup("0O1IL", PHONE)
    with pytest.raises(NotFound):
        bookings.services("NOWHERE")
