"""Trusted devices: pairing, heartbeats, the managers' list, the pad that rates only as its counter's pad, and
tickets that print only at their kiosk a bounded number of times. The service layer on SQLite and PostgreSQL,
then the API (answers checked against their OpenAPI schemas) and the pages."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from server.domain.devices import DeviceKind, DeviceSettings
from server.domain.errors import DomainError
from server.domain.tickets import Action
from server.printing import PrintOutcome
from server.services.actor import Actor
from server.services.devices import DeviceService
from server.services.hall import HallService
from server.services.printing import PrintingService
from server.services.ratings import RatingService
from tests.conftest import RecordingPublisher, build_service
from tests.device_helpers import paired_actor, paired_client
from tests.integration.test_api import build_app
from tests.support import FakeClock, demo_config

BRANCH = "SZ-FUTIAN"
B = f"/api/branches/{BRANCH}"
MANAGER = Actor("manager", "manager")
ZHANG = Actor("zhang.wei", "staff")
LI = Actor("li.na", "staff")
BASE = "http://hall.test"


def refused(code: str) -> Any:
    return pytest.raises(DomainError, check=lambda e: e.code == code)


@pytest.fixture
def hall(database_url: str, tmp_path: Path, clock: FakeClock, publisher: RecordingPublisher) -> Iterator[HallService]:
    service = build_service(database_url, tmp_path, clock, publisher)
    service.counters.sign_in(BRANCH, "2", ZHANG)
    yield service
    service.uow.engine.dispose()
    service.uow.read_engine.dispose()


@pytest.fixture
def devices(hall: HallService, clock: FakeClock) -> DeviceService:
    codes = iter(range(123_456, 999_999, 7))
    return DeviceService(hall.config, hall.uow, clock, randbelow=lambda _: next(codes))


# --- pairing, heartbeats, the managers' list (both databases) ------------------------------------------------


def test_a_device_is_paired_by_its_code_heard_and_revoked(
    devices: DeviceService, clock: FakeClock
) -> None:
    shown, secret = devices.request_pairing(BRANCH, "pad", "3", None, "Mozilla/5.0 (Linux; Android 13) pad")
    assert secret is not None and shown["state"] == "pending" and shown["code"] == "123 456"
    assert shown["role_name"]["en"].startswith("Rating pad · ")
    again, kept = devices.request_pairing(BRANCH, "pad", "3", secret)  # a reload keeps its code
    assert (again["code"], kept) == ("123 456", None)
    stranger = devices.authenticate("not-a-credential")
    assert stranger is None and devices.authenticate(None) is None

    with refused("manager_only"):
        devices.pending(BRANCH, "123456", ZHANG)
    asked = devices.pending(BRANCH, "123 456", MANAGER)
    assert (asked["kind"], asked["target"], asked["user_agent"]) == ("pad", "3", "Mozilla/5.0 (Linux; Android 13) pad")
    with refused("bad_role"):
        devices.pair(BRANCH, "123456", "pad", "99", None, MANAGER)
    clock.advance(minutes=1)
    paired = devices.pair(BRANCH, "123-456", "pad", "2", "by the door", MANAGER)  # the manager decides the role
    assert (paired["state"], paired["target"], paired["name"], paired["paired_by"]) == ("paired", "2", "by the door",
                                                                                         "manager")
    with refused("unknown_pairing_code"):
        devices.pair(BRANCH, "123456", "pad", "2", None, MANAGER)  # used
    device = devices.authenticate(secret)
    assert device is not None and device.paired and device.role.target == "2"

    listed = devices.devices(BRANCH, MANAGER)
    assert [d["id"] for d in listed["devices"]] == [paired["id"]] and listed["offline"] == 0
    clock.advance(seconds=91)
    listed = devices.devices(BRANCH, MANAGER)
    [silent] = listed["devices"]
    assert (silent["online"], silent["offline_since"], listed["offline"]) == (False, paired["paired_at"], 1)
    assert devices.heartbeat(secret)["state"] == "paired"
    [heard] = devices.devices(BRANCH, MANAGER)["devices"]
    assert heard["online"] is True and heard["last_seen_at"] == clock.now.isoformat()

    assert devices.rename(BRANCH, paired["id"], "  counter 2 pad ", MANAGER)["name"] == "counter 2 pad"
    revoked = devices.revoke(BRANCH, paired["id"], MANAGER)
    assert (revoked["state"], revoked["revoked_by"]) == ("revoked", "manager")
    assert (revoked["paired_by_name"], revoked["revoked_by_name"]) == ("黄经理 Manager Huang", "黄经理 Manager Huang")
    with refused("device_revoked"):
        devices.heartbeat(secret)
    with refused("already_revoked"):
        devices.revoke(BRANCH, paired["id"], MANAGER)
    renewed, new_secret = devices.request_pairing(BRANCH, "pad", "2", secret)  # its page asks again
    assert new_secret is not None and new_secret != secret and renewed["state"] == "pending"
    with refused("unknown_device"):
        devices.revoke(BRANCH, 999_999, MANAGER)


def test_codes_lapse_and_pending_devices_are_bounded(devices: DeviceService, clock: FakeClock) -> None:
    shown, _ = devices.request_pairing(BRANCH, "kiosk", "K1", None)
    clock.advance(minutes=10)
    with refused("unknown_pairing_code"):
        devices.pending(BRANCH, shown["code"], MANAGER)
    for _ in range(50):
        devices.request_pairing(BRANCH, "wall", None, None)
    with refused("too_many_pairings"):
        devices.request_pairing(BRANCH, "wall", None, None)
    clock.advance(minutes=10)  # lapsed codes are forgotten when the next device asks
    assert devices.request_pairing(BRANCH, "wall", None, None)[0]["state"] == "pending"


# --- the rating pad (both databases) --------------------------------------------------------------------------


def finish(hall: HallService, counter: str = "2", actor: Actor = ZHANG) -> dict[str, Any]:
    ticket = hall.tickets.issue(BRANCH, "BILL")
    hall.counters.call_ticket(BRANCH, counter, ticket["id"], actor)
    hall.tickets.act(BRANCH, ticket["id"], Action.START, actor)
    hall.tickets.act(BRANCH, ticket["id"], Action.FINISH, actor)
    return ticket


def test_the_pad_rates_only_as_its_counters_pad_and_only_its_last_ticket(
    hall: HallService, devices: DeviceService, clock: FakeClock
) -> None:
    ratings = RatingService(hall.config, hall.uow, clock=clock)
    pad_2, secret = paired_actor(devices, "pad", "2", device="pad-2")
    pad_3, _ = paired_actor(devices, "pad", "3")
    first = finish(hall)
    for stranger, code in ((Actor(None), "device_not_paired"), (pad_3, "wrong_device"), (LI, "not_at_counter")):
        with refused(code):
            ratings.rate_at_counter(BRANCH, "2", first["id"], 1, actor=stranger)
        with refused(code):
            ratings.pad_prompt(BRANCH, "2", stranger)
    assert ratings.pad_prompt(BRANCH, "2", pad_2)["ticket"]["id"] == first["id"]

    second = finish(hall)
    with refused("not_last_ticket"):
        ratings.rate_at_counter(BRANCH, "2", first["id"], 1, actor=pad_2)
    assert ratings.rate_at_counter(BRANCH, "2", second["id"], 3, actor=pad_2)["channel"] == "pad"
    assert ratings.rating_state(first["token"])["can_rate"] is True  # the real customer can still rate it

    third = finish(hall)
    [listed] = [d for d in devices.devices(BRANCH, MANAGER)["devices"] if d["target"] == "2"]
    devices.revoke(BRANCH, listed["id"], MANAGER)
    revoked = dataclasses.replace(pad_2, paired=devices.authenticate(secret))
    with refused("device_revoked"):
        ratings.rate_at_counter(BRANCH, "2", third["id"], 1, actor=revoked)
    assert ratings.rate_at_counter(BRANCH, "2", third["id"], 2, actor=ZHANG)["score"] == 2  # staff at counter 2


# --- printing (both databases) --------------------------------------------------------------------------------


class Printer:
    def __init__(self) -> None:
        self.printed = 0
        self.working = True

    def __call__(self, host: str, port: int, payload: bytes, **_: Any) -> PrintOutcome:
        from server.printing import PrinterError

        if not self.working:
            raise PrinterError("unreachable", "no route to the printer")
        self.printed += 1
        return PrintOutcome(paper_low=False, status_checked=True, elapsed_s=0.01)


def printing_hall(hall: HallService, **devices_settings: Any) -> tuple[PrintingService, Printer]:
    branches = []
    for branch in hall.config.branches:
        kiosks = tuple(dataclasses.replace(k, printer="escpos", printer_host="127.0.0.1", printer_port=9100)
                       for k in branch.kiosks)
        branches.append(dataclasses.replace(branch, kiosks=kiosks,
                                            devices=DeviceSettings(**devices_settings)))
    hall.model.replace(dataclasses.replace(hall.config, branches=tuple(branches)), hall.model.revision + 1)
    printer = Printer()
    return PrintingService(hall, send=printer), printer


def test_a_ticket_prints_at_its_kiosk_twice_at_most_then_only_by_staff(
    hall: HallService, clock: FakeClock
) -> None:
    printing, printer = printing_hall(hall)
    ticket = hall.tickets.issue(BRANCH, "BILL", device="K1")
    with refused("wrong_kiosk"):
        printing.print_ticket(ticket["token"], "K2", BASE)
    printer.working = False
    with refused("printer_failed"):
        printing.print_ticket(ticket["token"], "K1", BASE)  # a failure is not counted
    printer.working = True
    for _ in range(2):
        assert printing.print_ticket(ticket["token"], "K1", BASE)["printed"] is True
    for _ in range(18):
        with refused("print_limit_reached"):
            printing.print_ticket(ticket["token"], "K1", BASE)
    assert printer.printed == 2
    assert printing.print_ticket(ticket["token"], "K2", BASE, ZHANG)["printed"] is True  # staff, anywhere
    phone = hall.tickets.issue(BRANCH, "BILL")  # issued by no kiosk: no kiosk prints it
    with refused("wrong_kiosk"):
        printing.print_ticket(phone["token"], "K1", BASE)
    late = hall.tickets.issue(BRANCH, "BILL", device="K1")
    clock.advance(minutes=6)
    with refused("print_window_passed"):
        printing.print_ticket(late["token"], "K1", BASE)


def test_where_kiosks_must_be_paired_only_the_paired_kiosk_prints(hall: HallService, clock: FakeClock) -> None:
    printing, printer = printing_hall(hall, require_pairing=frozenset({DeviceKind.KIOSK}))
    devices = DeviceService(hall.config, hall.uow, clock)
    k1, _ = paired_actor(devices, "kiosk", "K1")
    ticket = hall.tickets.issue(BRANCH, "BILL", device="K1")
    with refused("device_not_paired"):
        printing.print_ticket(ticket["token"], "K1", BASE)  # claims to be K1, holds no credential
    with refused("wrong_device"):
        printing.print_ticket(ticket["token"], "K2", BASE, k1)
    assert printing.print_ticket(ticket["token"], "K1", BASE, k1)["printed"] is True
    assert printer.printed == 1


# --- the API and the pages --------------------------------------------------------------------------------------


@pytest.fixture
def make_app(tmp_path: Path, clock: FakeClock, publisher: RecordingPublisher,
             monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Flask]]:
    monkeypatch.delenv("HALL_DATABASE_URL", raising=False)
    apps: list[Iterator[Flask]] = []

    def make(more: Callable[[dict[str, Any]], None] | None = None) -> Flask:
        config = demo_config(f"sqlite:///{tmp_path / f'api{len(apps)}.sqlite3'}", tmp_path, more=more)
        gen = build_app(config, clock, publisher)
        apps.append(gen)
        return next(gen)

    yield make
    for gen in apps:
        next(gen, None)


def signed_in(app: Flask, username: str, password: str = "demo-staff") -> FlaskClient:
    client = app.test_client()
    assert client.post("/api/session", json={"username": username, "password": password}).status_code == 200
    return client


def test_a_stranger_on_the_wifi_cannot_rate_for_the_customer(make_app: Callable[..., Flask]) -> None:
    """Found on main: anyone could rate a counter's ticket (opening a follow-up against staff), and the real
    customer then got already_rated."""
    app = make_app()
    staff = signed_in(app, "zhang.wei")
    assert staff.post(f"{B}/counters/2/sign-in", json={}).status_code == 200
    ticket = app.test_client().post(f"{B}/tickets", json={"service": "BILL"}).get_json()
    staff.post(f"{B}/counters/2/call", json={"ticket_id": ticket["id"]})
    staff.post(f"{B}/tickets/{ticket['id']}/start", json={})
    staff.post(f"{B}/tickets/{ticket['id']}/finish", json={})

    stranger = app.test_client()
    prompt = stranger.get(f"{B}/counters/2/rating")
    assert (prompt.status_code, prompt.get_json()["error"]) == (401, "device_not_paired")
    r = stranger.post(f"{B}/counters/2/rating", json={"ticket_id": ticket["id"], "score": 1})
    assert (r.status_code, r.get_json()["error"]) == (401, "device_not_paired")
    assert "pairing code" in r.get_json()["message"]
    r = app.test_client().post(f"/api/tickets/{ticket['token']}/rating", json={"score": 3})
    assert r.status_code == 201  # the customer's own rating still counts

    manager = signed_in(app, "manager", "demo-manager")
    assert manager.get(f"{B}/follow-ups").get_json()["follow_ups"] == []


def test_one_token_prints_twice_at_most_not_twenty_times(
    make_app: Callable[..., Flask], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found on main: one ticket token printed on any network-printer kiosk of its branch as often as asked."""
    printer = Printer()
    monkeypatch.setattr("server.app.PrintingService", lambda hall: PrintingService(hall, send=printer))

    def network_printers(data: dict[str, Any]) -> None:
        for kiosk in data["branches"][0]["kiosks"]:
            kiosk["printer"] = "escpos://127.0.0.1:9100"

    app = make_app(network_printers)
    client = app.test_client()
    ticket = client.post(f"{B}/tickets", json={"service": "BILL"}, headers={"X-Device-Id": "K1"}).get_json()
    answers = [client.post(f"/api/tickets/{ticket['token']}/print", json={"kiosk": kiosk}).get_json()
               for kiosk in ["K1", "K2"] * 10]
    assert printer.printed == 2
    errors = [a.get("error") for a in answers if "error" in a]
    assert errors.count("print_limit_reached") == 8 and errors.count("wrong_kiosk") == 10
    staff = signed_in(app, "zhang.wei")
    assert staff.post(f"/api/tickets/{ticket['token']}/print", json={"kiosk": "K2"}).get_json()["printed"] is True


def test_pairing_over_the_api_and_the_pad_page(make_app: Callable[..., Flask]) -> None:
    app = make_app()
    pad = app.test_client()
    page = pad.get(f"/pad/{BRANCH}/3").get_data(as_text=True)
    assert 'id="pairing-config"' in page and 'id="pad-config"' not in page  # an unpaired pad shows its code
    assert pad.get("/api/devices/me").status_code == 401
    asked = pad.post("/api/devices/pairing", json={"branch": BRANCH, "kind": "pad", "target": "3"})
    assert asked.status_code == 201
    cookie = asked.headers["Set-Cookie"]
    assert "hall_device=" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert pad.post("/api/devices/pairing", json={"branch": BRANCH, "kind": "pad", "target": "3"}).status_code == 200
    code = asked.get_json()["code"]
    assert pad.post("/api/devices/pairing", json={"branch": BRANCH, "kind": "pad", "target": "99"}).status_code == 422

    staff = signed_in(app, "zhang.wei")
    assert staff.get(f"{B}/pairing-requests/{code.replace(' ', '')}").get_json()["error"] == "manager_only"
    manager = signed_in(app, "manager", "demo-manager")
    assert manager.get(f"{B}/pairing-requests/000000").status_code == 404
    assert manager.get(f"{B}/pairing-requests/{code.replace(' ', '')}").get_json()["target"] == "3"
    paired = manager.post(f"{B}/devices", json={"code": code, "kind": "pad", "target": "3", "name": "window 3"})
    assert paired.status_code == 201
    device_id = paired.get_json()["id"]

    assert pad.get("/api/devices/me").get_json()["state"] == "paired"
    page = pad.get(f"/pad/{BRANCH}/3").get_data(as_text=True)
    assert 'id="pad-config"' in page and "hall/device.js" in page and "device_revoked" in page
    assert pad.get(f"/pad/{BRANCH}/5").headers["Location"] == f"/pad/{BRANCH}/3"  # its own counter's page
    assert pad.get(f"{B}/counters/3/rating").status_code == 200
    assert pad.post("/api/devices/me/heartbeat").get_json()["state"] == "paired"
    assert manager.patch(f"{B}/devices/{device_id}", json={"name": "by the door"}).get_json()["name"] == "by the door"
    assert manager.get(f"{B}/devices").get_json()["devices"][0]["online"] is True

    assert manager.post(f"{B}/devices/{device_id}/revoke").status_code == 200
    r = pad.get(f"{B}/counters/3/rating")
    assert (r.status_code, r.get_json()["error"]) == (401, "device_revoked")
    assert pad.post("/api/devices/me/heartbeat").get_json()["error"] == "device_revoked"
    assert 'id="pairing-config"' in pad.get(f"/pad/{BRANCH}/3").get_data(as_text=True)

    # staff signed in at counter 3 use the pad page in their own browser without pairing
    li = signed_in(app, "li.na")
    assert li.post(f"{B}/counters/3/sign-in", json={}).status_code == 200
    assert 'id="pad-config"' in li.get(f"/pad/{BRANCH}/3").get_data(as_text=True)
    assert li.get(f"{B}/counters/3/rating").status_code == 200


def test_kiosks_and_displays_work_unpaired_unless_the_branch_requires_pairing(make_app: Callable[..., Flask]) -> None:
    app = make_app()
    client = app.test_client()
    for path in (f"/kiosk/{BRANCH}", f"/display/{BRANCH}", f"/display/{BRANCH}/counter/1"):
        assert 'id="pairing-config"' not in client.get(path).get_data(as_text=True), path

    def strict(data: dict[str, Any]) -> None:
        data["branches"][0]["devices"] = {"require_pairing": ["kiosk", "wall", "counter_display"]}

    strict_app = make_app(strict)
    client = strict_app.test_client()
    for path in (f"/kiosk/{BRANCH}?kiosk=K2", f"/display/{BRANCH}", f"/display/{BRANCH}/counter/1"):
        assert 'id="pairing-config"' in client.get(path).get_data(as_text=True), path
    kiosk = paired_client(strict_app, "kiosk", "K2")
    page = kiosk.get(f"/kiosk/{BRANCH}?kiosk=K2").get_data(as_text=True)
    assert 'id="kiosk-config"' in page and "hall/device.js" in page
    assert kiosk.get(f"/display/{BRANCH}").headers["Location"] == f"/kiosk/{BRANCH}?kiosk=K2"
    listed = signed_in(strict_app, "manager", "demo-manager").get(f"{B}/devices").get_json()
    assert listed["require_pairing"] == ["counter_display", "kiosk", "wall"]


def test_a_branch_that_lists_pads_as_optional_is_refused_naming_the_key(tmp_path: Path) -> None:
    from server.config import ConfigError

    def pads_optional(data: dict[str, Any]) -> None:
        data["branches"][0]["devices"] = {"require_pairing": ["pad"]}

    with pytest.raises(ConfigError, match=r"branches\[0\]\.devices\.require_pairing: rating pads are always paired"):
        demo_config(f"sqlite:///{tmp_path / 'x.sqlite3'}", tmp_path, more=pads_optional)


def test_a_managers_preview_is_no_device(make_app: Callable[..., Flask]) -> None:
    """Where kiosks and walls must be paired, the branch's manager still previews them (``?preview=1``): the page
    itself, marked as a preview, without the heartbeat script even in a browser that is a paired device; the kiosk
    is told it is a preview (it takes no ticket), the wall is silent."""
    def strict(data: dict[str, Any]) -> None:
        data["branches"][0]["devices"] = {"require_pairing": ["kiosk", "wall"]}

    app = make_app(strict)
    manager = signed_in(app, "manager", "demo-manager")
    kiosk = manager.get(f"/kiosk/{BRANCH}?preview=1&lang=en").get_data(as_text=True)
    assert 'id="pairing-config"' not in kiosk and "hall/device.js" not in kiosk and 'id="preview-mark"' in kiosk
    assert _bootstrap(kiosk, "kiosk")["preview"] is True
    wall = manager.get(f"/display/{BRANCH}?preview=1").get_data(as_text=True)
    assert 'id="pairing-config"' not in wall and "hall/device.js" not in wall and 'id="preview-mark"' in wall
    assert _bootstrap(wall, "display")["preview"] is True and _bootstrap(wall, "display")["sound"] is False

    # a paired kiosk whose browser a manager signs in to: its page beats, its preview does not
    device = paired_client(app, "kiosk", "K1")
    assert device.post("/api/session", json={"username": "manager", "password": "demo-manager"}).status_code == 200
    assert "hall/device.js" in device.get(f"/kiosk/{BRANCH}?kiosk=K1").get_data(as_text=True)
    preview = device.get(f"/kiosk/{BRANCH}?kiosk=K1&preview=1").get_data(as_text=True)
    assert "hall/device.js" not in preview and _bootstrap(preview, "kiosk")["preview"] is True
    normal = device.get(f"/kiosk/{BRANCH}?kiosk=K1").get_data(as_text=True)
    assert 'id="preview-mark"' not in normal and _bootstrap(normal, "kiosk")["preview"] is False

    # staff and strangers get no preview, so no way past the pairing
    assert signed_in(app, "zhang.wei").get(f"/kiosk/{BRANCH}?preview=1").status_code == 403
    assert app.test_client().get(f"/display/{BRANCH}?preview=1").status_code == 401


def _bootstrap(html: str, name: str) -> dict[str, Any]:
    found = re.search(rf'<script type="application/json" id="{name}-config">(.*?)</script>', html, re.S)
    assert found is not None, html[:300]
    return json.loads(found.group(1))
