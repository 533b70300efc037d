"""The virtual queue's routes over HTTP: join (201, a retry with the same Idempotency-Key gets the same ticket), the
wall's arrival code (open where walls need not be paired, refused to strangers where they must), check-in by that code,
at the kiosk and by staff (staff of the branch only); bad input is a 4xx whose details.text says why in both
languages."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from server.app import create_app
from tests.conftest import RecordingPublisher
from tests.integration.test_booking_api import BRANCH, error, make_app, signed_in
from tests.support import FakeClock, demo_config

PHONE = "138 1234 5678"


@pytest.fixture
def app(tmp_path: Path, clock: FakeClock) -> Iterator[Flask]:
    app = make_app(tmp_path, clock)
    yield app
    app.extensions["hall"].uow.engine.dispose()


def join(client: Any, **body: Any) -> Any:
    return client.post(f"/api/remote/{BRANCH}/tickets", headers={"Idempotency-Key": body.pop("key", "k-1")},
                       json={"service": "PLAN", "phone": PHONE, "consent": True, **body})


def test_join_check_in_by_the_walls_code_and_the_kiosk(app: Flask) -> None:
    client = app.test_client()
    services = client.get(f"/api/remote/{BRANCH}/services").get_json()["services"]
    assert [s["code"] for s in services] == ["PLAN", "BROADBAND"] and services[0]["checkin_min"] == 20
    made = join(client)
    assert made.status_code == 201, made.get_json()
    ticket = made.get_json()
    assert ticket["remote"] and ticket["awaiting_arrival"] and ticket["token"]
    again = join(client)
    assert again.get_json()["id"] == ticket["id"]  # a retry after a lost answer
    code = client.get(f"/api/branches/{BRANCH}/arrival").get_json()["code"]
    done = client.post("/api/remote/checkin", json={"token": ticket["token"], "code": code})
    assert done.status_code == 200 and not done.get_json()["awaiting_arrival"]
    other = join(client, phone="139 0000 0000", service="BROADBAND", key="k-2").get_json()
    at_kiosk = client.post(f"/api/branches/{BRANCH}/checkin", json={"phone": "13900000000"}).get_json()
    assert at_kiosk["outcome"] == "remote" and at_kiosk["ticket"]["id"] == other["id"]


def test_bad_input_is_4xx_with_a_reason_in_both_languages(app: Flask) -> None:
    client = app.test_client()
    for body, status, code in (({"consent": False}, 400, "consent_required"), ({"phone": "12"}, 400, "bad_phone"),
                               ({"service": "BILL"}, 409, "remote_not_offered"),
                               ({"service": "NOPE"}, 404, "unknown_service")):
        answer = error(join(client, key=f"k-{code}", **body), status, code)
        if code in ("consent_required", "remote_not_offered"):
            assert answer["details"]["text"]["zh-CN"] and answer["details"]["text"]["en"], answer
    error(join(client, consent="maybe", key="k-bad"), 422, "invalid_request")
    ticket = join(client, key="k-ok").get_json()
    answer = error(join(client, key="k-again"), 409, "remote_ticket_open")
    assert answer["details"]["text"]["en"].startswith("This phone number already holds")
    answer = error(client.post("/api/remote/checkin", json={"token": ticket["token"], "code": "OLDCODE234"}), 400,
                   "bad_arrival_code")
    assert answer["details"]["text"]["zh-CN"].startswith("签到码已过期或无效")
    error(client.post("/api/remote/checkin", json={"token": "x" * 40, "code": "A"}), 404, "unknown_ticket")
    error(client.post(f"/api/branches/{BRANCH}/arrivals", json={}), 400, "bad_checkin")
    error(client.post(f"/api/branches/{BRANCH}/arrivals", json={"number": "Z999"}), 404, "unknown_remote_ticket")


def test_staff_of_the_branch_check_in_by_hand(app: Flask) -> None:
    ticket = join(app.test_client()).get_json()
    stranger = app.test_client().post(f"/api/branches/{BRANCH}/tickets/{ticket['id']}/checkin")
    assert stranger.status_code == 401
    staff = signed_in(app, "zhang.wei")
    done = staff.post(f"/api/branches/{BRANCH}/tickets/{ticket['id']}/checkin")
    assert done.status_code == 200 and not done.get_json()["awaiting_arrival"]
    walk_in = staff.post(f"/api/branches/{BRANCH}/tickets", json={"service": "PLAN"}).get_json()
    error(staff.post(f"/api/branches/{BRANCH}/tickets/{walk_in['id']}/checkin"), 409, "not_remote")


def test_where_walls_must_be_paired_a_stranger_cannot_read_the_arrival_code(tmp_path: Path, clock: FakeClock) -> None:
    def paired_walls(data: dict[str, Any]) -> None:
        data["branches"][0].setdefault("devices", {})["require_pairing"] = ["wall"]

    config = demo_config(f"sqlite:///{tmp_path / 'hall.sqlite3'}", tmp_path, more=paired_walls)
    app, _socketio = create_app(config, clock=clock, publisher=RecordingPublisher())
    try:
        error(app.test_client().get(f"/api/branches/{BRANCH}/arrival"), 401, "device_not_paired")
        assert app.test_client().get(f"/arrive/{BRANCH}/qr.svg").status_code == 401
        staff = signed_in(app, "zhang.wei")
        assert staff.get(f"/api/branches/{BRANCH}/arrival").status_code == 200
    finally:
        app.extensions["hall"].uow.engine.dispose()
