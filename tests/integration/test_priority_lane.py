"""Priority-lane tickets (爱心通道) come only from a paired kiosk of the branch or from its staff where the branch says
so (``[branches.devices] priority_from = "paired_kiosk"``, the default, or kiosks that must be paired). The service
layer on SQLite and PostgreSQL, then the API and the kiosk page's bootstrap (the browser is told the classes it may
offer)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from server.config import ConfigError
from server.domain.errors import DomainError
from server.domain.tickets import PriorityClass
from server.services.actor import Actor
from server.services.devices import DeviceService
from server.services.hall import HallService
from tests.conftest import RecordingPublisher, build_service
from tests.device_helpers import paired_actor, paired_client
from tests.integration.test_api import build_app
from tests.support import FakeClock, demo_config

BRANCH = "SZ-FUTIAN"
OTHER = "GZ-TIANHE"
B = f"/api/branches/{BRANCH}"
ZHANG = Actor("zhang.wei", "staff")
PRIORITY = PriorityClass.PRIORITY


def priority_from(value: str) -> Callable[[dict[str, Any]], None]:
    def adjust(data: dict[str, Any]) -> None:
        data["branches"][0].setdefault("devices", {})["priority_from"] = value
    return adjust


def with_a_second_branch(data: dict[str, Any]) -> None:
    import copy

    other = copy.deepcopy(data["branches"][0])
    other["code"] = OTHER
    data["branches"].append(other)


def refused(code: str) -> Any:
    return pytest.raises(DomainError, check=lambda e: e.code == code)


@pytest.fixture
def hall(database_url: str, tmp_path: Path, clock: FakeClock) -> Iterator[HallService]:
    service = build_service(database_url, tmp_path, clock, RecordingPublisher(), more=with_a_second_branch)
    yield service
    service.uow.engine.dispose()
    service.uow.read_engine.dispose()


@pytest.fixture
def devices(hall: HallService, clock: FakeClock) -> DeviceService:
    return DeviceService(hall.config, hall.uow, clock)


# --- the service layer (both databases) --------------------------------------------------------------------------


def test_only_a_paired_kiosk_of_the_branch_or_its_staff_gives_a_priority_ticket(
    hall: HallService, devices: DeviceService
) -> None:
    with refused("priority_needs_paired_kiosk") as refusal:
        hall.tickets.issue(BRANCH, "BILL", priority=PRIORITY, device="K1", address="10.0.0.5")
    assert set(refusal.value.details["text"]) == {"zh-CN", "en"}  # the kiosk shows it in both languages
    assert refusal.value.http_status == 403
    assert hall.tickets.issue(BRANCH, "BILL")["priority"] == "normal"  # a normal ticket stays open to anyone

    kiosk, _ = paired_actor(devices, "kiosk", "K1", device="K1")
    assert hall.tickets.issue(BRANCH, "BILL", priority=PRIORITY, actor=kiosk)["priority"] == "priority"
    assert hall.tickets.issue(BRANCH, "BILL", priority=PRIORITY, actor=ZHANG)["priority"] == "priority"

    elsewhere, _ = paired_actor(devices, "kiosk", "K1", branch=OTHER)
    wall, _ = paired_actor(devices, "wall", None)
    for stranger in (elsewhere, wall, Actor("other.nobody", "staff")):
        with refused("priority_needs_paired_kiosk"):
            hall.tickets.issue(BRANCH, "BILL", priority=PRIORITY, actor=stranger)
    with refused("unauthenticated"):  # VIP stays with staff, paired kiosk or not
        hall.tickets.issue(BRANCH, "VIP", priority=PriorityClass.VIP, actor=kiosk)


def test_a_revoked_kiosk_gives_no_priority_ticket_at_once(hall: HallService, devices: DeviceService) -> None:
    _, secret = paired_actor(devices, "kiosk", "K2")
    [listed] = devices.devices(BRANCH, Actor("manager", "manager"))["devices"]
    devices.revoke(BRANCH, listed["id"], Actor("manager", "manager"))
    revoked = Actor(None, paired=devices.authenticate(secret))
    with refused("priority_needs_paired_kiosk"):
        hall.tickets.issue(BRANCH, "PLAN", priority=PRIORITY, actor=revoked)


def test_where_the_branch_lets_anyone_the_priority_lane_is_open(database_url: str, tmp_path: Path,
                                                                 clock: FakeClock) -> None:
    hall = build_service(database_url, tmp_path, clock, RecordingPublisher(), more=priority_from("anyone"))
    try:
        assert hall.tickets.issue(BRANCH, "BILL", priority=PRIORITY)["priority"] == "priority"
    finally:
        hall.uow.engine.dispose()
        hall.uow.read_engine.dispose()


# --- configuration -----------------------------------------------------------------------------------------------


def test_priority_from_is_checked_naming_the_key(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'x.sqlite3'}"
    with pytest.raises(ConfigError, match=r"branches\[0\]\.devices\.priority_from: must be one of paired_kiosk, "
                                          r"anyone, got 'everyone'"):
        demo_config(url, tmp_path, more=priority_from("everyone"))

    def contradictory(data: dict[str, Any]) -> None:
        data["branches"][0]["devices"] = {"require_pairing": ["kiosk"], "priority_from": "anyone"}

    with pytest.raises(ConfigError, match=r"branches\[0\]\.devices\.priority_from: \"anyone\" cannot hold where "
                                          r"kiosks must be paired"):
        demo_config(url, tmp_path, more=contradictory)
    assert demo_config(url, tmp_path).branches[0].devices.priority_needs_paired_kiosk  # the demo's default


# --- the API and the kiosk page ----------------------------------------------------------------------------------


@pytest.fixture
def make_app(tmp_path: Path, clock: FakeClock, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Flask]]:
    monkeypatch.delenv("HALL_DATABASE_URL", raising=False)
    apps: list[Iterator[Flask]] = []

    def make(more: Callable[[dict[str, Any]], None] | None = None) -> Flask:
        config = demo_config(f"sqlite:///{tmp_path / f'api{len(apps)}.sqlite3'}", tmp_path, more=more)
        gen = build_app(config, clock, RecordingPublisher())
        apps.append(gen)
        return next(gen)

    yield make
    for gen in apps:
        next(gen, None)


def kiosk_classes(page: str) -> list[str]:
    found = re.search(r'<script[^>]*id="kiosk-config"[^>]*>(.*?)</script>', page, re.S)
    assert found is not None
    return json.loads(found.group(1))["ticket_classes"]


def test_the_api_refuses_an_unpaired_browser_with_a_reason_in_both_languages(make_app: Callable[..., Flask]) -> None:
    app = make_app()
    phone = app.test_client()
    r = phone.post(f"{B}/tickets", json={"service": "BILL", "priority": "priority"}, headers={"X-Device-Id": "K1"})
    assert r.status_code == 403
    body = r.get_json()
    assert body["error"] == "priority_needs_paired_kiosk"
    assert "爱心通道" in body["details"]["text"]["zh-CN"] and "paired kiosks" in body["details"]["text"]["en"]
    kiosk = paired_client(app, "kiosk", "K1")
    made = kiosk.post(f"{B}/tickets", json={"service": "BILL", "priority": "priority"})
    assert made.status_code == 201 and made.get_json()["priority"] == "priority"


def test_the_kiosk_page_is_told_whether_to_offer_the_priority_lane(make_app: Callable[..., Flask]) -> None:
    app = make_app()
    assert kiosk_classes(app.test_client().get(f"/kiosk/{BRANCH}").get_data(as_text=True)) == ["normal"]
    kiosk = paired_client(app, "kiosk", "K1")
    assert kiosk_classes(kiosk.get(f"/kiosk/{BRANCH}?kiosk=K1").get_data(as_text=True)) == ["normal", "priority"]
    staff = app.test_client()
    assert staff.post("/api/session", json={"username": "zhang.wei", "password": "demo-staff"}).status_code == 200
    assert kiosk_classes(staff.get(f"/kiosk/{BRANCH}").get_data(as_text=True)) == [p.value for p in PriorityClass]

    open_app = make_app(priority_from("anyone"))
    page = open_app.test_client().get(f"/kiosk/{BRANCH}").get_data(as_text=True)
    assert kiosk_classes(page) == ["normal", "priority"]
