"""Appointments in the reports (SQLite and PostgreSQL): a closed day keeps its bookings per service (booked, checked
in, late walk-ins, cancelled by the customer, no-shows), the rebuild writes the same, and the report's ``bookings``
table answers as the OpenAPI document says."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from server.domain.reports import Group, Section
from server.persistence.tables import REPORT_BOOKING
from server.services.audit import AuditLog
from server.services.booking import BookingService
from server.services.hall import HallService
from tests.conftest import RecordingPublisher, build_service
from tests.integration.test_booking import BRANCH, at, book, hall_hours
from tests.integration.test_service_day import midnight_after
from tests.support import FakeClock

TODAY = date(2026, 11, 24)  # the clock starts at 10:00 in Shanghai
COUNTS = {"booked": 4, "checked_in": 2, "late_walk_ins": 1, "booking_cancelled": 1, "booking_no_shows": 1}


@pytest.fixture
def hall(database_url: str, tmp_path: Path, clock: FakeClock) -> Iterator[HallService]:
    service = build_service(database_url, tmp_path, clock, RecordingPublisher(), more=hall_hours)
    yield service
    service.uow.engine.dispose()
    service.uow.read_engine.dispose()


def a_day_of_bookings(bookings: BookingService, clock: FakeClock) -> None:
    """Four PLAN bookings today: one checked in early, one late past the grace (a walk-in), one never, one
    cancelled; then the day ends."""
    early = book(bookings, at(TODAY, "10:30"), phone="13800000001")
    late = book(bookings, at(TODAY, "11:00"), phone="13800000002")
    book(bookings, at(TODAY, "11:30"), phone="13800000003")
    cancelled = book(bookings, at(TODAY, "16:30"), phone="13800000004")
    bookings.cancel(cancelled["code"], "13800000004")
    clock.advance(minutes=20)  # 10:20
    assert bookings.check_in(BRANCH, code=early["code"])["outcome"] == "appointment"
    clock.advance(minutes=60)  # 11:20: the 11:00 slot's 10 minutes of grace are over
    assert bookings.check_in(BRANCH, code=late["code"])["outcome"] == "walk_in"


def stored(hall: HallService) -> list[dict[str, Any]]:
    with hall.uow.engine.connect() as connection:
        return [dict(r) for r in connection.execute(select(REPORT_BOOKING).order_by(
            REPORT_BOOKING.c.service_day, REPORT_BOOKING.c.service_code)).mappings()]


def test_a_closed_day_keeps_its_bookings_and_the_rebuild_writes_the_same(hall: HallService,
                                                                          clock: FakeClock) -> None:
    bookings = BookingService(hall.config, hall.uow, AuditLog(hall.config, hall.uow, clock), clock,
                              tickets=hall.tickets)
    a_day_of_bookings(bookings, clock)
    midnight_after(clock)
    hall.days.end_due(BRANCH)
    written = stored(hall)
    assert [(r["service_code"], {k: r[k] for k in COUNTS}) for r in written] == [("PLAN", COUNTS)]
    branches = [hall.branch(BRANCH)]
    period = hall.reports.period(branches, TODAY, TODAY)
    by_service = hall.reports.report(branches, period, Group.SERVICE, [Section.BOOKINGS])["sections"]["bookings"]
    assert by_service == [{"service": "PLAN", "label": by_service[0]["label"], **COUNTS, "no_show_share": 1 / 3}]
    assert by_service[0]["label"]["en"]
    by_day = hall.reports.report(branches, period, Group.DAY, [Section.BOOKINGS])["sections"]["bookings"]
    assert [(r["day"], r["booked"]) for r in by_day] == [("2026-11-24", 4)]
    with hall.uow.engine.begin() as connection:
        connection.execute(REPORT_BOOKING.delete())
    assert hall.days.rebuild_reports(BRANCH) == 1
    assert stored(hall) == written
    with pytest.raises(Exception) as refused:
        hall.reports.report(branches, period, Group.COUNTER, [Section.BOOKINGS])
    assert getattr(refused.value, "code", None) == "bad_group"


def test_the_bookings_table_over_http(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from server.app import create_app
    from tests.integration.test_api import check_answers_against_openapi
    from tests.support import demo_config

    monkeypatch.delenv("HALL_DATABASE_URL", raising=False)
    config = demo_config(f"sqlite:///{tmp_path / 'hall.sqlite3'}", tmp_path, more=hall_hours)
    clock = FakeClock()
    app, _ = create_app(config, clock=clock, publisher=RecordingPublisher())
    mismatches = check_answers_against_openapi(app)
    hall = app.extensions["hall"]
    a_day_of_bookings(app.extensions["booking"], clock)
    midnight_after(clock)
    hall.days.end_due(BRANCH)
    manager = app.test_client()
    assert manager.post("/api/session", json={"username": "manager", "password": "demo-manager"}).status_code == 200
    asked = "from=2026-11-24&to=2026-11-24"
    for group in ("total", "branch", "service", "day", "weekday"):
        answer = manager.get(f"/api/branches/{BRANCH}/reports?{asked}&group={group}&section=bookings")
        assert answer.status_code == 200, answer.get_json()
        rows = answer.get_json()["sections"]["bookings"]
        assert sum(r["booked"] for r in rows) == 4 and sum(r["booking_no_shows"] for r in rows) == 1
    whole = manager.get(f"/api/branches/{BRANCH}/reports?{asked}").get_json()
    assert whole["columns"]["bookings"][:5] == list(COUNTS)
    assert whole["labels"]["booking_no_shows"] == {"zh-CN": "爽约", "en": "No-shows"}
    refused = manager.get(f"/api/branches/{BRANCH}/reports?{asked}&group=hour&section=bookings")
    assert refused.status_code == 400 and refused.get_json()["error"] == "bad_group"
    exported = manager.get(f"/api/branches/{BRANCH}/reports/bookings.csv?{asked}&group=service&lang=en")
    assert exported.status_code == 200
    lines = exported.data.decode("utf-8-sig").split("\r\n")
    assert lines[0] == ('Service,Booked,Checked in,Late walk-ins,Cancelled (customer),No-shows,'
                        "No-show rate")
    assert lines[1].endswith(",4,2,1,1,1,0.333")
    assert not mismatches, mismatches
