"""The booking API and pages over HTTP: bad input answered 4xx naming the field or parameter, the public routes'
limits per address, who may see a day's bookings and book for a customer, and the pages' headers."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from server.app import create_app
from tests.conftest import RecordingPublisher
from tests.support import FakeClock, demo_config

BRANCH = "SZ-FUTIAN"
TOMORROW = "2026-11-25"  # the clock starts on Tuesday 2026-11-24, 10:00 in Shanghai
TEN = datetime(2026, 11, 25, 2, 0, tzinfo=UTC).isoformat()  # tomorrow 10:00 in Shanghai
PHONE = "13812345678"


def make_app(tmp_path: Path, clock: FakeClock, limits: dict[str, Any] | None = None) -> Flask:
    config = demo_config(f"sqlite:///{tmp_path / 'hall.sqlite3'}", tmp_path, limits=limits)
    app, _socketio = create_app(config, clock=clock, publisher=RecordingPublisher())
    return app


@pytest.fixture
def app(tmp_path: Path, clock: FakeClock) -> Iterator[Flask]:
    app = make_app(tmp_path, clock)
    yield app
    app.extensions["hall"].uow.engine.dispose()


def signed_in(app: Flask, username: str, password: str = "demo-staff") -> FlaskClient:
    client = app.test_client()
    assert client.post("/api/session", json={"username": username, "password": password}).status_code == 200
    return client


def book(client: FlaskClient, **body: Any) -> Any:
    return client.post(f"/api/booking/{BRANCH}/bookings",
                       json={"service": "PLAN", "start": TEN, "phone": PHONE, "consent": True, **body})


def error(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.get_json())
    answer = response.get_json()
    assert answer["error"] == code, answer
    return answer


def test_a_customer_books_looks_up_changes_and_cancels(app: Flask) -> None:
    client = app.test_client()
    branches = client.get("/api/booking/branches?lat=22.54&lon=114.05").get_json()["branches"]
    assert branches[0]["code"] == BRANCH and branches[0]["distance_km"] < 1
    services = client.get(f"/api/booking/{BRANCH}/services").get_json()
    assert [s["code"] for s in services["services"]] == ["PLAN", "BROADBAND"] and services["days"][1] == TOMORROW
    slots = client.get(f"/api/booking/{BRANCH}/services/PLAN/slots?day={TOMORROW}").get_json()["slots"]
    assert {s["time"]: s["left"] for s in slots}["10:00"] == 2
    made = book(client)
    assert made.status_code == 201, made.get_json()
    code = made.get_json()["code"]
    found = client.post("/api/booking/lookup", json={"code": code, "phone": PHONE}).get_json()
    assert found["time"] == "10:00" and found["phone"] == "138 1234 5678"
    later = (datetime(2026, 11, 25, 3, 0, tzinfo=UTC)).isoformat()
    moved = client.post("/api/booking/change", json={"code": code, "phone": PHONE, "start": later})
    assert moved.status_code == 200 and moved.get_json()["time"] == "11:00"
    cancelled = client.post("/api/booking/cancel", json={"code": code, "phone": PHONE})
    assert cancelled.get_json()["state"] == "cancelled"
    assert client.get(f"/api/booking/{BRANCH}/services/PLAN/slots?day={TOMORROW}").get_json()["slots"][22]["left"] == 2


def test_bad_input_is_refused_naming_the_field(app: Flask) -> None:
    client = app.test_client()
    assert error(book(client, consent=False), 400, "consent_required")["details"]["field"] == "consent"
    refused = error(book(client, phone="12345"), 400, "bad_phone")
    assert refused["details"]["field"] == "phone" and set(refused["details"]["text"]) == {"zh-CN", "en"}
    naive = book(client, start="2026-11-25T10:00:00")
    assert naive.status_code == 422 and "start" in str(naive.get_json())
    assert book(client, service="no such!").status_code == 422
    assert book(client, extra=1).status_code == 422
    assert error(book(client, start=(datetime(2026, 11, 25, 2, 10, tzinfo=UTC)).isoformat()), 409,
                 "no_such_slot")["details"]["field"] == "start"
    error(book(client, service="BILL"), 409, "not_bookable")
    for far in ("9999-12-31T23:59:59Z", "0001-01-01T00:00:00+00:00", "2027-11-25T02:00:00Z"):
        assert error(book(client, start=far), 409, "outside_horizon")["details"]["field"] == "start"
    error(client.post("/api/booking/NOWHERE/bookings", json={"service": "PLAN", "start": TEN, "phone": PHONE,
                                                            "consent": True}), 404, "unknown_branch")
    assert error(client.get(f"/api/booking/{BRANCH}/services/PLAN/slots"), 400,
                 "bad_query")["details"]["parameter"] == "day"
    assert error(client.get(f"/api/booking/{BRANCH}/services/PLAN/slots?day=tomorrow"), 400,
                 "bad_query")["details"]["parameter"] == "day"
    assert error(client.get("/api/booking/branches?lat=95&lon=1"), 400, "bad_query")["details"]["parameter"] == "lat"
    assert error(client.get("/api/booking/branches?lat=22"), 400, "bad_query")["details"]["parameter"] == "lon"
    assert error(client.post("/api/booking/lookup", json={"code": "0000-0000", "phone": PHONE}), 400,
                 "bad_code")["details"]["field"] == "code"
    error(client.post("/api/booking/lookup", json={"code": "ABCD-2345", "phone": PHONE}), 404, "unknown_booking")


def test_the_public_routes_are_limited_per_address(tmp_path: Path, clock: FakeClock) -> None:
    app = make_app(tmp_path, clock, limits={"booking_changes": "2/hour", "booking_lookups": "3 per 10 minutes",
                                            "refusal_delay_s": 0})
    client = app.test_client()
    assert book(client).status_code == 201
    assert book(client, phone="13900001111").status_code == 201
    refused = book(client, phone="13900002222")
    assert error(refused, 429, "too_many_requests")["details"]["limit"] == "booking_changes"
    assert int(refused.headers["Retry-After"]) > 0
    for n in range(3):  # someone trying codes against a number
        error(client.post("/api/booking/lookup", json={"code": f"ABCD-234{n + 2}", "phone": PHONE}), 404,
              "unknown_booking")
    guessed = client.post("/api/booking/lookup", json={"code": "ABCD-2349", "phone": PHONE})
    assert error(guessed, 429, "too_many_requests")["details"]["limit"] == "booking_lookups"
    staff = signed_in(app, "zhang.wei")  # staff booking at the counter are not counted against the hall's address
    made = staff.post(f"/api/branches/{BRANCH}/bookings",
                      json={"service": "PLAN", "start": TEN.replace("02:00", "03:00"), "phone": "13700003333",
                            "consent": True})
    assert made.status_code == 201, made.get_json()
    app.extensions["hall"].uow.engine.dispose()


def test_the_days_bookings_and_booking_for_a_customer_are_for_the_branchs_staff(app: Flask, clock: FakeClock) -> None:
    anonymous = app.test_client()
    assert book(anonymous).status_code == 201
    error(anonymous.get(f"/api/branches/{BRANCH}/bookings?day={TOMORROW}"), 401, "unauthenticated")
    error(anonymous.post(f"/api/branches/{BRANCH}/bookings", json={"service": "PLAN", "start": TEN, "phone": PHONE,
                                                                   "consent": True}), 401, "unauthenticated")
    staff = signed_in(app, "zhang.wei")
    day = staff.get(f"/api/branches/{BRANCH}/bookings?day={TOMORROW}").get_json()
    [one] = day["bookings"]
    assert one["phone"] == "138****5678" and one["channel"] == "online" and "13812345678" not in str(day)
    made = staff.post(f"/api/branches/{BRANCH}/bookings", json={"service": "PLAN", "start": TEN,
                                                                "phone": "13900001111", "consent": True})
    assert made.status_code == 201 and made.get_json()["channel"] == "staff"
    error(staff.post(f"/api/branches/{BRANCH}/bookings", json={"service": "PLAN", "start": TEN,
                                                               "phone": "13700002222", "consent": True}), 409,
          "slot_full")
    clock.advance(hours=1)
    upcoming = staff.get(f"/api/branches/{BRANCH}/bookings/upcoming?minutes=1440").get_json()
    assert upcoming["slots"] == [{"service": "PLAN", "start": TEN, "bookings": 2}]
    manager = signed_in(app, "manager", "demo-manager")
    audit = manager.get(f"/api/audit?branch={BRANCH}&action=booked_for_customer").get_json()
    assert [e["username"] for e in audit["entries"]] == ["zhang.wei"]


def test_the_booking_pages(app: Flask) -> None:
    client = app.test_client()
    page = client.get(f"/book?branch={BRANCH}")
    assert page.status_code == 200 and "geolocation=(self)" in page.headers["Permissions-Policy"]
    assert "geolocation=()" in client.get(f"/kiosk/{BRANCH}").headers["Permissions-Policy"]  # only the booking page
    assert client.get("/book/abcd-2345").status_code == 200  # any well-formed code: the page asks for the number
    assert client.get("/book/not-a-code").status_code == 404
    qr = client.get("/book/qr.svg?code=ABCD2345")
    assert qr.status_code == 200 and qr.mimetype == "image/svg+xml"
    assert client.get("/book/qr.svg?code=0").status_code == 400
    assert ("Booking 预约", f"/book?branch={BRANCH}") in app.extensions["hall_pages"](BRANCH)
