"""The check-in routes over HTTP: the kiosk's (public) by code or phone number, staff's by hand (staff of the branch
only, audited); bad input is a 4xx whose details.text the kiosk shows in both languages."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask

from tests.integration.test_booking_api import BRANCH, PHONE, error, make_app, signed_in
from tests.support import FakeClock

HALF_PAST = datetime(2026, 11, 24, 2, 30, tzinfo=UTC).isoformat()  # today 10:30 in Shanghai
ELEVEN = datetime(2026, 11, 24, 3, 0, tzinfo=UTC).isoformat()


@pytest.fixture
def app(tmp_path: Path, clock: FakeClock) -> Iterator[Flask]:
    app = make_app(tmp_path, clock)
    yield app
    app.extensions["hall"].uow.engine.dispose()


def booked(app: Flask, phone: str = PHONE, start: str = HALF_PAST) -> str:
    made = app.test_client().post(f"/api/booking/{BRANCH}/bookings", json={
        "service": "PLAN", "start": start, "phone": phone, "consent": True})
    assert made.status_code == 201, made.get_json()
    return str(made.get_json()["code"])


def test_the_kiosk_checks_in_by_code_then_the_code_gets_the_same_ticket_and_the_phone_none(
        app: Flask, clock: FakeClock) -> None:
    code = booked(app)
    kiosk = app.test_client()
    later = booked(app, "13900001111", ELEVEN)
    answer = error(kiosk.post(f"/api/branches/{BRANCH}/checkin", json={"code": later}), 409, "too_early")
    assert answer["details"]["come_back"] == "10:30" and "10:30" in answer["details"]["text"]["zh-CN"]
    clock.advance(minutes=10)
    done = kiosk.post(f"/api/branches/{BRANCH}/checkin", json={"code": code.lower(), "language": "en"})
    assert done.status_code == 200, done.get_json()
    first = done.get_json()
    assert first["outcome"] == "appointment" and first["callable_from_time"] == "10:30"
    assert first["ticket"]["token"] and first["ticket"]["priority"] == "appointment"
    again = kiosk.post(f"/api/branches/{BRANCH}/checkin", json={"code": code}).get_json()
    assert again["outcome"] == "already_checked_in" and again["ticket"]["number"] == first["ticket"]["number"]
    by_phone = error(kiosk.post(f"/api/branches/{BRANCH}/checkin", json={"phone": "138 1234 5678"}), 409,
                     "already_checked_in")
    assert first["ticket"]["token"] not in str(by_phone) and by_phone["details"]["text"]["en"]


def test_bad_check_ins_are_4xx_with_a_reason_in_both_languages(app: Flask) -> None:
    kiosk = app.test_client()
    for body, status, code in (({}, 400, "bad_checkin"), ({"code": "X", "phone": PHONE}, 400, "bad_checkin"),
                               ({"code": "ABC"}, 400, "bad_code"), ({"code": "2345-6789"}, 404, "unknown_booking"),
                               ({"phone": "12"}, 400, "bad_phone"), ({"phone": "13900000000"}, 404, "unknown_booking")):
        answer = error(kiosk.post(f"/api/branches/{BRANCH}/checkin", json=body), status, code)
        if code != "bad_phone":
            assert answer["details"]["text"]["zh-CN"] and answer["details"]["text"]["en"], answer
    error(kiosk.post(f"/api/branches/{BRANCH}/checkin", json={"code": 12}), 422, "invalid_request")


def test_staff_of_the_branch_check_in_by_hand(app: Flask, clock: FakeClock) -> None:
    code = booked(app)
    clock.advance(minutes=25)
    url = f"/api/branches/{BRANCH}/bookings/{code}/checkin"
    error(app.test_client().post(url, json={}), 401, "unauthenticated")
    staff = signed_in(app, "zhang.wei")
    answer = staff.post(url, json={"language": "en"})
    assert answer.status_code == 200 and answer.get_json()["outcome"] == "appointment"
    day = staff.get(f"/api/branches/{BRANCH}/bookings?day=2026-11-24").get_json()
    assert day["bookings"][0]["checked_in"] is True and day["no_shows"] == 0


def test_staff_undo_a_check_in_over_http(app: Flask, clock: FakeClock) -> None:
    code = booked(app)
    clock.advance(minutes=25)
    kiosk = app.test_client()
    stranger = kiosk.post(f"/api/branches/{BRANCH}/checkin", json={"phone": PHONE}).get_json()
    url = f"/api/branches/{BRANCH}/bookings/{code}/checkin/undo"
    error(app.test_client().post(url), 401, "unauthenticated")
    staff = signed_in(app, "zhang.wei")
    undone = staff.post(url)
    assert undone.status_code == 200, undone.get_json()
    assert undone.get_json()["checked_in"] is False
    again = error(staff.post(url), 409, "not_checked_in")
    assert again["details"]["text"]["zh-CN"] and again["details"]["text"]["en"]
    error(staff.post(f"/api/branches/{BRANCH}/bookings/2345-6789/checkin/undo"), 404, "unknown_booking")
    ticket = app.test_client().get(f"/api/tickets/{stranger['ticket']['token']}")
    assert ticket.get_json()["state"] == "cancelled"
    assert kiosk.post(f"/api/branches/{BRANCH}/checkin", json={"code": code}).get_json()["outcome"] == "appointment"


def test_phone_misses_are_limited_per_address_from_the_config(tmp_path: Path, clock: FakeClock) -> None:
    app = make_app(tmp_path, clock, limits={"phone_checkin_misses": "2 per 10 minutes", "booking_lookups": "off",
                                            "booking_changes": "off", "kiosk_tickets": "off",
                                            "address_tickets": "off", "device_tickets": "off"})
    try:
        booked(app)
        clock.advance(minutes=25)
        kiosk = app.test_client()
        for number in ("13700000001", "13700000002"):
            error(kiosk.post(f"/api/branches/{BRANCH}/checkin", json={"phone": number}), 404, "unknown_booking")
        spent = kiosk.post(f"/api/branches/{BRANCH}/checkin", json={"phone": PHONE})
        assert spent.status_code == 429 and spent.headers.get("Retry-After")
        body = spent.get_json()
        assert body["error"] == "too_many_requests" and body["details"]["limit"] == "phone_checkin_misses"
        assert body["details"]["text"]["zh-CN"] and body["details"]["text"]["en"]
    finally:
        app.extensions["hall"].uow.engine.dispose()
