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


def test_the_kiosk_checks_in_by_code_then_by_phone_gets_the_same_ticket(app: Flask, clock: FakeClock) -> None:
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
    again = kiosk.post(f"/api/branches/{BRANCH}/checkin", json={"phone": "138 1234 5678"}).get_json()
    assert again["outcome"] == "already_checked_in" and again["ticket"]["number"] == first["ticket"]["number"]


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
